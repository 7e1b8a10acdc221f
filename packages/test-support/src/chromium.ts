/**
 * Debian's Chromium (`apt-get install -y chromium`), never a downloaded browser, for every test
 * that drives one through playwright-core; the flags keep it off the network.
 */
export const chromium = {
  executablePath: '/usr/bin/chromium',
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
};
