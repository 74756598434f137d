// LogTape set-up for the CLI: stderr always (journald reads it; stdout carries the data), a
// rotating file when asked.
import {
  configure,
  dispose,
  getLogger,
  getTextFormatter,
  type Logger,
  type LogLevel,
  type Sink,
} from "@logtape/logtape";
import { getRotatingFileSink } from "@logtape/file";

/** Where and how much to log. */
export interface LoggingOptions {
  level: LogLevel;
  file?: string;
}

/** Configures LogTape once for the process; returns the CLI's logger. */
export async function setupLogging(options: LoggingOptions): Promise<Logger> {
  // Strings as they are (an id, a target), anything else as JSON: lines read as sentences.
  const format = getTextFormatter({
    value: (v) => (typeof v === "string" ? v : JSON.stringify(v)),
  });
  const encoder = new TextEncoder();
  const sinks: Record<string, Sink> = {
    stderr: (record) => {
      Deno.stderr.writeSync(encoder.encode(format(record)));
    },
  };
  if (options.file) {
    try {
      sinks.file = getRotatingFileSink(options.file, {
        maxSize: 10 * 1024 * 1024,
        maxFiles: 5,
        formatter: format,
      });
    } catch (err) {
      console.error(`ftagent: warning: cannot log to ${options.file}: ${(err as Error).message}`);
    }
  }
  await configure({
    reset: true,
    sinks,
    loggers: [
      { category: ["ftagent"], lowestLevel: options.level, sinks: Object.keys(sinks) },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["stderr"] },
    ],
  });
  return getLogger(["ftagent"]);
}

/** Flushes and closes the log sinks (buffered file writes land before the process exits). */
export async function closeLogging(): Promise<void> {
  await dispose();
}
