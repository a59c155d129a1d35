export { type Clock, ManualClock, systemClock } from './clock.js';
export {
  type ClassifiedError,
  classify,
  type FailureInfo,
  RetryableError,
  TerminalError,
  toFailureInfo,
} from './errors.js';
