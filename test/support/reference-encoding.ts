/**
 * An encoder for test data written independently of drivers/modbus/codec.ts: it lays a value out big-endian with
 * Node's Buffer writers, then permutes bytes for the byte order, so a test compares the codec with a second opinion.
 */
export type Order = 'ABCD' | 'CDAB' | 'BADC' | 'DCBA';

export function wordsOf(type: string, value: number | bigint | string, order: Order, length = 1): number[] {
  let bytes: Buffer;
  switch (type) {
    case 'int16':
      bytes = Buffer.alloc(2);
      bytes.writeInt16BE(Number(value));
      break;
    case 'uint16':
      bytes = Buffer.alloc(2);
      bytes.writeUInt16BE(Number(value));
      break;
    case 'int32':
      bytes = Buffer.alloc(4);
      bytes.writeInt32BE(Number(value));
      break;
    case 'uint32':
      bytes = Buffer.alloc(4);
      bytes.writeUInt32BE(Number(value));
      break;
    case 'int64':
      bytes = Buffer.alloc(8);
      bytes.writeBigInt64BE(BigInt(value));
      break;
    case 'uint64':
      bytes = Buffer.alloc(8);
      bytes.writeBigUInt64BE(BigInt(value));
      break;
    case 'float32':
      bytes = Buffer.alloc(4);
      bytes.writeFloatBE(Number(value));
      break;
    case 'float64':
      bytes = Buffer.alloc(8);
      bytes.writeDoubleBE(Number(value));
      break;
    case 'string':
      bytes = Buffer.alloc(length * 2);
      bytes.write(String(value), 'latin1');
      break;
    default:
      throw new Error(`no reference encoding for ${type}`);
  }
  const words: number[] = [];
  for (let i = 0; i < bytes.length; i += 2) words.push(bytes.readUInt16BE(i));
  const byteSwap = order === 'BADC' || order === 'DCBA';
  const wordSwap = order === 'CDAB' || order === 'DCBA';
  const ordered = wordSwap && type !== 'string' ? words.reverse() : words;
  return byteSwap ? ordered.map((w) => ((w & 0xff) << 8) | (w >> 8)) : ordered;
}
