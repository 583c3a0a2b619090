// Entry point of a proxy worker process (see workers.ts): node:cluster forks this module.
import { runWorker } from './workers.js';

runWorker();
