# packet-journey for a workshop VM: the visualizer runs in a container but sees the host's kernel,
# namespaces and Docker (host network + host pid, eBPF mounts). Debian 12 (bookworm) like the test
# machines, with Node 20: Debian's own nodejs is 18, too old for Next 16.
FROM node:20-bookworm-slim

ENV DEBIAN_FRONTEND=noninteractive NEXT_TELEMETRY_DISABLED=1
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends \
      ca-certificates iproute2 iptables nftables bridge-utils net-tools iputils-ping curl tcpdump \
      conntrack ethtool procps util-linux clang llvm libbpf-dev bpftool make gcc pkg-config libelf-dev zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY . .
# vmlinux.h must come from the kernel the container will run on, so the probes build at start, not here.
RUN npx next build

EXPOSE 3000
CMD ["sh", "-c", "make -s -C probes && exec npx tsx server/cli.ts serve --host ${PJ_HOST:-127.0.0.1} --port ${PJ_PORT:-3000}"]
