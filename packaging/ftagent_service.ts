/**
 * The systemd unit of the agent, as text: `ftagent --install-service` writes it and
 * `packaging/ftagent.service` is the same bytes (a test keeps the two equal), so the file
 * install.sh copies and the one the command writes never differ.
 *
 * @module
 */

/** Where the unit is installed (under `FTAGENT_ROOT` when that is set). */
export const SERVICE_PATH = "/etc/systemd/system/ftagent.service";

/** The unit file `packaging/ftagent.service`, byte for byte. */
export const SERVICE_UNIT: string =
  `# ftagent: DDoS detection agent. Installed by install.sh or "ftagent --install-service";
# enable with "systemctl enable --now ftagent".
[Unit]
Description=ftagent DDoS detection agent
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
User=ftagent
Group=ftagent
ExecStart=/usr/local/bin/ftagent --config /etc/ftagent/config.json
# The agent reloads its config on SIGHUP ("systemctl reload ftagent").
ExecReload=/bin/kill -HUP \$MAINPID
# Capture needs raw sockets (and promiscuous mode), nft/iptables and the SYN-cookie sysctl need
# CAP_NET_ADMIN: nothing else of root's.
AmbientCapabilities=CAP_NET_RAW CAP_NET_ADMIN
CapabilityBoundingSet=CAP_NET_RAW CAP_NET_ADMIN
NoNewPrivileges=yes
# /var/lib/ftagent (baseline, pcaps/), /var/log/ftagent and /var/cache/ftagent, owned by ftagent.
StateDirectory=ftagent
StateDirectoryMode=0750
LogsDirectory=ftagent
LogsDirectoryMode=0750
CacheDirectory=ftagent
Environment=DENO_DIR=/var/cache/ftagent/deno DENO_NO_UPDATE_CHECK=1
# The sandbox: "systemd-analyze security ftagent" rates it 1.8 OK (6.4 MEDIUM without it).
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
# The default pcap_dir (/var/lib/ftagent/pcaps) is inside StateDirectory. A pcap_dir, state_dir
# or log_file elsewhere needs a drop-in (systemctl edit ftagent): ReadWritePaths=/that/path
PrivateDevices=yes
PrivateMounts=yes
# /proc/sys and /sys are read-only but for the one sysctl the agent may turn on during a SYN
# flood (and restores after).
ProtectKernelTunables=yes
ReadWritePaths=-/proc/sys/net/ipv4/tcp_syncookies
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
# Other users' processes are hidden: web servers are found from their configs and binaries,
# never shown as running (set l7_log_paths to choose the logs, or ProtectProc=default).
ProtectProc=invisible
LockPersonality=yes
RestrictSUIDSGID=yes
RestrictRealtime=yes
RestrictNamespaces=yes
RemoveIPC=yes
# What the agent writes (database, captures, logs) is readable by ftagent and root only.
UMask=0077
# Internet (control plane, alerts, DNS), local sockets, netlink (nft, ipset), packet capture.
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK AF_PACKET
SystemCallArchitectures=native
# Deno's JIT writes executable memory: no MemoryDenyWriteExecute. A system call outside the
# filter fails with EPERM rather than killing the agent.
SystemCallFilter=@system-service @pkey
SystemCallFilter=~@privileged @resources
SystemCallErrorNumber=EPERM
Restart=on-failure
RestartSec=5
KillSignal=SIGTERM
TimeoutStopSec=10

[Install]
WantedBy=multi-user.target
`;
