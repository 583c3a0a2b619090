// The control plane's log: one line per event on stderr, `time level component: message`, with
// a level threshold. Plain text because people read it; the status API is the machine interface.

export type Level = 'debug' | 'info' | 'warn' | 'error';
const order: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  /** A logger whose lines name a component. */
  child(component: string): Logger;
}

export function createLogger(level: Level = 'info', write: (line: string) => void = (l) => process.stderr.write(`${l}\n`), component = 'serve'): Logger {
  const at = (l: Level) => (message: string) => {
    if (order[l] < order[level]) return;
    write(`${new Date().toISOString()} ${l.padEnd(5)} ${component}: ${message}`);
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: (c) => createLogger(level, write, c) };
}
