import type { NextConfig } from 'next';

const config: NextConfig = {
  // The custom server (server/index.ts) hosts Next; no telemetry, no remote fonts or images.
  poweredByHeader: false,
  reactStrictMode: true,
  // Types are checked once, by `tsc --noEmit` in the test command, for server and app together.
  typescript: { ignoreBuildErrors: true },
};

export default config;
