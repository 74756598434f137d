// LogTape set-up for the CLI: stderr always (journald reads it; stdout carries the data), a
// rotating file when asked.
import {
  configure,
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
  const format = getTextFormatter();
  const encoder = new TextEncoder();
  const sinks: Record<string, Sink> = {
    stderr: (record) => {
      Deno.stderr.writeSync(encoder.encode(format(record)));
    },
  };
  if (options.file) {
    sinks.file = getRotatingFileSink(options.file, { maxSize: 10 * 1024 * 1024, maxFiles: 5 });
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
