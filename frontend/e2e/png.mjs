// Tiny PNG encoder for test images (RGB, no filter), using only node:zlib.
import { deflateSync } from 'node:zlib';

const TABLE = new Int32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c;
});
function crc32(buf) {
  let c = -1;
  for (const b of buf) c = TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

/** makePng(w, h, (x, y) => [r, g, b]) → Buffer */
export function makePng(w, h, pixel) {
  const raw = Buffer.alloc((w * 3 + 1) * h);
  let o = 0;
  for (let y = 0; y < h; y++) {
    raw[o++] = 0;
    for (let x = 0; x < w; x++) {
      const [r, g, b] = pixel(x, y);
      raw[o++] = r;
      raw[o++] = g;
      raw[o++] = b;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A soft two-colour diagonal gradient with a few circles — looks like a poster. */
export function coverPng(seed = 0, w = 480, h = 270) {
  const palettes = [
    [[67, 56, 202], [236, 72, 153]],
    [[14, 116, 144], [132, 204, 22]],
    [[190, 18, 60], [251, 146, 60]],
    [[30, 41, 59], [99, 102, 241]],
    [[5, 150, 105], [250, 204, 21]],
    [[124, 58, 237], [56, 189, 248]],
  ];
  const [a, b] = palettes[seed % palettes.length];
  const circles = [0, 1, 2].map((i) => ({ x: ((seed * 97 + i * 173) % w), y: ((seed * 61 + i * 89) % h), r: 40 + ((seed * 31 + i * 47) % 70) }));
  return makePng(w, h, (x, y) => {
    const t = (x / w + y / h) / 2;
    let c = a.map((v, i) => Math.round(v + (b[i] - v) * t));
    for (const k of circles) {
      const d = Math.hypot(x - k.x, y - k.y);
      if (d < k.r) c = c.map((v) => Math.min(255, v + 28));
    }
    return c;
  });
}
