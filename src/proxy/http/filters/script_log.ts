// Log lines of scripts and plugins (Lua handle:logInfo, Wasm proxy_log) and of their failures.
// Envoy's levels (trace 0 .. critical 5); lines below the threshold (info, as Envoy's default; the
// EGTS_SCRIPT_LOG_LEVEL environment variable changes it) are dropped before they are formatted.
// They go to stderr unless an embedder installs its own sink.

export const LEVELS = ['trace', 'debug', 'info', 'warning', 'error', 'critical'] as const;

export type ScriptLogSink = (level: number, source: string, message: string) => void;

let threshold = levelOf(process.env.EGTS_SCRIPT_LOG_LEVEL) ?? 2;

function levelOf(name: string | undefined): number | undefined {
  if (!name) return undefined;
  const i = LEVELS.findIndex((l) => l.startsWith(name.toLowerCase()));
  return i >= 0 ? i : undefined;
}

let sink: ScriptLogSink = (level, source, message) => {
  process.stderr.write(`[${new Date().toISOString()}][${LEVELS[level]}][${source}] ${message}\n`);
};

/** Replaces where the lines go (returns the previous sink), and optionally the threshold. */
export function setScriptLogSink(s: ScriptLogSink, minLevel?: number): ScriptLogSink {
  const prev = sink;
  sink = s;
  if (minLevel !== undefined) threshold = minLevel;
  return prev;
}

export function scriptLogEnabled(level: number): boolean {
  return level >= threshold;
}

export function scriptLog(level: number, source: string, message: string): void {
  if (level >= threshold) sink(level, source, message);
}
