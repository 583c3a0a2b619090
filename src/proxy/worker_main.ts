// Entry point of a proxy worker process (see workers.ts): node:cluster forks this module.
import { keepRunningWithoutOutput } from '../cli/stdio.js';
import { runWorker } from './workers.js';

// Workers share the primary's stdout and stderr (access logs to /dev/stdout are written here).
keepRunningWithoutOutput();
runWorker();
