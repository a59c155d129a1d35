export {
  CONFIG_VARIABLES,
  type Config,
  ConfigError,
  type LoadConfigOptions,
  loadConfig,
  type RawEnv,
  redactConfig,
  redactUrl,
} from './config.js';
