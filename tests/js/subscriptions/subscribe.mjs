// Usage: node subscribe.mjs <ws-url> <token|-> <count> <query>
// Subscribes with the graphql-ws client (graphql-transport-ws protocol), prints
// {"event": "connected"} once acknowledged, then every payload as one JSON line, and exits
// after <count> payloads (exit code 1 on an error or a closed socket).
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const [url, token, count, query] = process.argv.slice(2);
const print = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

const client = createClient({
  url,
  webSocketImpl: WebSocket,
  connectionParams: token && token !== "-" ? { authorization: `Bearer ${token}` } : {},
  retryAttempts: 0,
  on: {
    connected: () => print({ event: "connected" }),
    closed: (event) => print({ event: "closed", code: event?.code ?? null }),
  },
});

let received = 0;
const done = (code) => {
  client.dispose();
  process.exit(code);
};
client.subscribe(
  { query },
  {
    next: (payload) => {
      print(payload);
      received += 1;
      if (received >= Number(count)) done(0);
    },
    error: (error) => {
      print({ event: "error", error: String(error?.message ?? JSON.stringify(error)) });
      done(1);
    },
    complete: () => done(received >= Number(count) ? 0 : 1),
  },
);
setTimeout(() => {
  print({ event: "timeout" });
  done(2);
}, 20000);
