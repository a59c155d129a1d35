/** The OMS location → CliQ SlaveID map as one environment variable (TATACLIQ_SLAVE_IDS). */

/** `LOC=SLAVE,LOC2=SLAVE2` (TATACLIQ_SLAVE_IDS). */
export function formatSlaveIds(map: Readonly<Record<string, string>>): string {
  return Object.entries(map)
    .map(([loc, slave]) => `${loc}=${slave}`)
    .join(',');
}

/**
 * Parses TATACLIQ_SLAVE_IDS (`LOC=SLAVE,LOC2=SLAVE2`, spaces around items ignored). Throws an
 * Error naming the bad entry; the caller adds the variable name.
 */
export function parseSlaveIds(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const eq = entry.indexOf('=');
    const loc = eq > 0 ? entry.slice(0, eq).trim() : '';
    const slave = eq > 0 ? entry.slice(eq + 1).trim() : '';
    if (loc === '' || slave === '') {
      throw new Error(
        `bad entry ${JSON.stringify(entry)}: expected OMS_LOCATION=SLAVE_ID, e.g. STORE-MUM-003=1234MUM01`,
      );
    }
    if (out[loc] !== undefined && out[loc] !== slave) {
      throw new Error(`location ${JSON.stringify(loc)} is mapped twice (${out[loc]} and ${slave})`);
    }
    out[loc] = slave;
  }
  return out;
}
