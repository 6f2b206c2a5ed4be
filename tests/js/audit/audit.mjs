// Usage: node audit.mjs http://127.0.0.1:PORT/graphql
// Prints one JSON line per audit: {id, name, status: "ok" | "warn" | "error", reason?}.
import { serverAudits } from 'graphql-http';

const url = process.argv[2];
for (const audit of serverAudits({ url, fetchFn: fetch })) {
  const result = await audit.fn();
  const line = { id: audit.id, name: audit.name, status: result.status };
  if (result.status !== 'ok') line.reason = result.reason;
  console.log(JSON.stringify(line));
}
