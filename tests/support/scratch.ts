// A throw-away directory with an agent config that keeps everything inside it.

/** Where a scratch agent keeps its files. */
export interface Scratch {
  dir: string;
  config: string;
  state: string;
}

/**
 * A temp directory and `config.json` in it: state, log and PCAPs inside the directory, no
 * metrics endpoint, and floors under the test floods; keys in `extra` override.
 */
export async function agentScratch(
  prefix: string,
  extra: Record<string, unknown> = {},
): Promise<Scratch> {
  const dir = await Deno.makeTempDir({ prefix });
  const config = `${dir}/config.json`;
  const state = `${dir}/state`;
  await Deno.writeTextFile(
    config,
    JSON.stringify({
      state_dir: state,
      log_file: `${dir}/ftagent.log`,
      pcap_dir: `${dir}/pcaps`,
      metrics_port: 0,
      min_pps_threshold: 2000,
      min_bps_threshold: 0,
      min_syn_pps_threshold: 1000,
      min_udp_pps_threshold: 2000,
      ...extra,
    }),
  );
  return { dir, config, state };
}
