export {
  CONFIG_VARIABLES,
  type Config,
  ConfigError,
  loadConfig,
  type RawEnv,
  redactConfig,
} from './config.js';
