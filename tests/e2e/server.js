// Starts the Telegram Bot API emulator telegram-test-api (pinned in package.json) for the end-to-end tests.
//
//   TTA_PORT=PORT node server.js        (tests/e2e/conftest.py picks a free port on 127.0.0.1)
//
// Prints "READY <port>" once it listens. Stops on SIGTERM/SIGINT, or when its standard input closes (the
// pytest process that started it went away), so no emulator outlives its test run.
'use strict';

const TelegramServer = require('telegram-test-api');

const port = Number(process.env.TTA_PORT);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error(`TTA_PORT must be a TCP port, not ${JSON.stringify(process.env.TTA_PORT)}`);
  process.exit(2);
}

// storeTimeout: keep unread messages for an hour (the default 60 s could drop them in a slow CI run).
const server = new TelegramServer({ host: '127.0.0.1', port, storeTimeout: 3600 });

let stopping = false;
async function stop(code) {
  if (stopping) return;
  stopping = true;
  try {
    await server.stop();
  } finally {
    process.exit(code);
  }
}

process.on('SIGTERM', () => stop(0));
process.on('SIGINT', () => stop(0));
process.stdin.on('end', () => stop(0));
process.stdin.on('error', () => stop(0));
process.stdin.resume();

server.start().then(
  () => console.log(`READY ${port}`),
  (error) => {
    console.error(`could not start telegram-test-api on 127.0.0.1:${port}: ${error && error.message}`);
    process.exit(3);
  },
);
