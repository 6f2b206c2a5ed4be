// The bench's Apollo Server 5 peer: the read queries `make bench` sends to alawael
// (dashboard, productBySku, products first:20), answered from the same SecantusDB database
// with Node's MongoDB driver and one DataLoader per relation (one `$in` per batch), as
// alawael does. It renders the same bytes alawael would: global ids are base64url
// "Type:hex" without padding, money is stored as integer cents and rendered as a decimal
// string with 2 places, datetimes as Python's isoformat() of an aware UTC datetime.
//
// No auth, no rate limits, no logging, no metrics: the bench table says so. It is a yardstick
// for the GraphQL execution cost, not a second implementation of the API.
//
//   MONGODB_URI=... MONGODB_DB=bench PORT=4000 STATS_PORT=4001 NODE_ENV=production node server.js
//
// STATS_PORT serves {"mongoCommands": N} (commands sent since start) so the bench can report
// MongoDB commands per request as it does for alawael (whose /metrics counts them).

import http from 'node:http';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import DataLoader from 'dataloader';
import { GraphQLScalarType } from 'graphql';
import { MongoClient } from 'mongodb';

const MAX_PAGE_SIZE = 100;
const DEFAULT_PAGE_SIZE = 20;

const typeDefs = `#graphql
  scalar DateTime
  scalar Money

  enum OrderStatus { PENDING CONFIRMED SHIPPED DELIVERED CANCELLED }

  type User {
    id: ID!
    email: String!
    name: String!
    phone: String
    active: Boolean!
    createdAt: DateTime!
  }

  type Product {
    id: ID!
    sku: String!
    name: String!
    description: String!
    category: String!
    price: Money!
    currency: String!
    stock: Int!
    lowStockThreshold: Int!
    archived: Boolean!
    createdAt: DateTime!
    updatedAt: DateTime!
  }

  type OrderItem {
    sku: String!
    name: String!
    unitPrice: Money!
    quantity: Int!
    lineTotal: Money!
    product: Product
  }

  type Order {
    id: ID!
    number: String!
    items: [OrderItem!]!
    subtotal: Money!
    total: Money!
    currency: String!
    status: OrderStatus!
    note: String
    createdAt: DateTime!
    updatedAt: DateTime!
    customer: User
  }

  type PageInfo {
    hasNextPage: Boolean!
    hasPreviousPage: Boolean!
    startCursor: String
    endCursor: String
  }

  type OrderEdge { cursor: String! node: Order! }
  type OrderConnection { edges: [OrderEdge!]! pageInfo: PageInfo! }
  type ProductEdge { cursor: String! node: Product! }
  type ProductConnection { edges: [ProductEdge!]! pageInfo: PageInfo! }

  type Query {
    orders(first: Int): OrderConnection!
    products(first: Int): ProductConnection!
    productBySku(sku: String!): Product
  }
`;

// --- rendering, byte-for-byte as alawael -------------------------------------------------

const globalId = (type, oid) =>
  Buffer.from(`${type}:${oid.toHexString()}`).toString('base64url');

// f"{Decimal(cents) / 100:.2f}" without binary floats.
function money(cents) {
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(cents);
  return `${sign}${Math.trunc(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

// Python's datetime.isoformat() of an aware UTC datetime: microseconds only when non-zero
// (MongoDB keeps milliseconds), "+00:00" rather than "Z".
function isoformat(date) {
  const s = date.toISOString(); // 2026-12-04T18:33:38.123Z
  const ms = date.getUTCMilliseconds();
  return `${s.slice(0, 19)}${ms ? `.${String(ms).padStart(3, '0')}000` : ''}+00:00`;
}

const scalar = (name, serialize) =>
  new GraphQLScalarType({ name, serialize, parseValue: (v) => v });

// A page of the keyset pagination alawael uses for a first page: sort key desc, _id desc,
// one extra document to know whether there is a next page.
async function firstPage(collection, query, first) {
  const size = first ?? DEFAULT_PAGE_SIZE;
  if (size < 0 || size > MAX_PAGE_SIZE) {
    throw new Error(`\`first\` must be between 0 and ${MAX_PAGE_SIZE}.`);
  }
  const docs = size
    ? await collection.find(query).sort({ createdAt: -1, _id: -1 }).limit(size + 1).toArray()
    : [];
  const more = docs.length > size;
  const page = docs.slice(0, size);
  const cursor = (doc) => Buffer.from(`${doc.createdAt.getTime()}:${doc._id}`).toString('base64url');
  return {
    edges: page.map((doc) => ({ cursor: cursor(doc), node: doc })),
    pageInfo: {
      hasNextPage: more,
      hasPreviousPage: false,
      startCursor: page.length ? cursor(page[0]) : null,
      endCursor: page.length ? cursor(page[page.length - 1]) : null,
    },
  };
}

function byIdLoader(collection, projection) {
  return new DataLoader(
    async (ids) => {
      const docs = await collection.find({ _id: { $in: ids } }, { projection }).toArray();
      const byId = new Map(docs.map((doc) => [doc._id.toHexString(), doc]));
      return ids.map((id) => byId.get(id.toHexString()) ?? null);
    },
    { cacheKeyFn: (id) => id.toHexString() },
  );
}

function resolvers(db) {
  return {
    DateTime: scalar('DateTime', isoformat),
    Money: scalar('Money', money),
    Query: {
      orders: (_, { first }) => firstPage(db.collection('orders'), {}, first),
      products: (_, { first }) => firstPage(db.collection('products'), { archived: false }, first),
      productBySku: (_, { sku }) => db.collection('products').findOne({ sku: sku.trim().toUpperCase() }),
    },
    User: {
      id: (doc) => globalId('User', doc._id),
      createdAt: (doc) => doc.createdAt,
      phone: (doc) => doc.phone ?? null,
    },
    Product: {
      id: (doc) => globalId('Product', doc._id),
      price: (doc) => doc.priceCents,
      description: (doc) => doc.description ?? '',
      category: (doc) => doc.category ?? '',
      currency: (doc) => doc.currency ?? 'SAR',
      lowStockThreshold: (doc) => doc.lowStockThreshold ?? 10,
      archived: (doc) => Boolean(doc.archived),
    },
    OrderItem: {
      unitPrice: (item) => item.unitPriceCents,
      lineTotal: (item) => item.lineTotalCents,
      product: (item, _, ctx) => ctx.productById.load(item.productId),
    },
    Order: {
      id: (doc) => globalId('Order', doc._id),
      subtotal: (doc) => doc.subtotalCents,
      total: (doc) => doc.totalCents,
      currency: (doc) => doc.currency ?? 'SAR',
      note: (doc) => doc.note ?? null,
      customer: (doc, _, ctx) => ctx.userById.load(doc.userId),
    },
  };
}

async function main() {
  let commands = 0;
  const client = new MongoClient(process.env.MONGODB_URI ?? 'mongodb://127.0.0.1:27017', {
    monitorCommands: true,
  });
  client.on('commandStarted', () => {
    commands += 1;
  });
  await client.connect();
  const db = client.db(process.env.MONGODB_DB ?? 'alawael');

  const server = new ApolloServer({ typeDefs, resolvers: resolvers(db) });
  const { url } = await startStandaloneServer(server, {
    listen: { host: '127.0.0.1', port: Number(process.env.PORT ?? 4000) },
    // Per request, like alawael's loaders: nothing is cached across requests.
    context: async () => ({
      userById: byIdLoader(db.collection('users'), { passwordHash: 0 }),
      productById: byIdLoader(db.collection('products')),
    }),
  });

  const stats = http.createServer((_, res) => {
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ mongoCommands: commands }));
  });
  stats.listen(Number(process.env.STATS_PORT ?? 4001), '127.0.0.1');

  const stop = async () => {
    stats.close();
    await server.stop();
    await client.close();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  console.log(`apollo peer ready at ${url}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
