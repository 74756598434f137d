// LogTape set-up for the CLI: console always (stderr, journald reads it), a file when asked.
import { configure, getConsoleSink, getLogger, type Logger, type LogLevel } from "@logtape/logtape";
import { getRotatingFileSink } from "@logtape/file";

/** Where and how much to log. */
export interface LoggingOptions {
  level: LogLevel;
  file?: string;
}

/** Configures LogTape once for the process; returns the CLI's logger. */
export async function setupLogging(options: LoggingOptions): Promise<Logger> {
  const sinks: Record<string, ReturnType<typeof getConsoleSink>> = {
    console: getConsoleSink({ console: { ...console, info: console.error, debug: console.error } as Console }),
  };
  if (options.file) {
    sinks.file = getRotatingFileSink(options.file, { maxSize: 10 * 1024 * 1024, maxFiles: 5 });
  }
  await configure({
    reset: true,
    sinks,
    loggers: [
      { category: ["ftagent"], lowestLevel: options.level, sinks: Object.keys(sinks) },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["console"] },
    ],
  });
  return getLogger(["ftagent"]);
}
