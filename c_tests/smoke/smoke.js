// Smoke program for node: objects, maps, arrays, JSON, strings, buffers, a
// hash, a few promises. Deterministic output.
'use strict';
const crypto = require('crypto');

let seed = 42;
function rnd(n) {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed % n;
}

const records = [];
for (let i = 0; i < 20000; i++) {
  records.push({ id: i, name: 'n' + rnd(1000).toString(36), tags: Array.from({ length: rnd(5) }, () => 't' + rnd(9)) });
}
const byName = new Map();
for (const r of records) {
  byName.set(r.name, (byName.get(r.name) || 0) + r.tags.length);
}
const json = JSON.stringify(records);
const back = JSON.parse(json);
const sorted = back.slice().sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.id - b.id));
const hash = crypto.createHash('sha256').update(json).digest('hex');
const buf = Buffer.alloc(1 << 16);
for (let i = 0; i < buf.length; i++) buf[i] = rnd(256);

async function work() {
  let total = 0;
  for (let i = 0; i < 100; i++) {
    total += await new Promise((resolve) => setImmediate(() => resolve(i * i)));
  }
  return total;
}

work().then((total) => {
  console.log('records', back.length, 'names', byName.size, 'json', json.length);
  console.log('first', sorted[0].name, sorted[0].id, 'last', sorted[sorted.length - 1].name);
  console.log('sha256', hash);
  console.log('buffer', crypto.createHash('md5').update(buf).digest('hex'));
  console.log('promises', total);
});
