import { gzipSync } from 'fflate';
import { createTar } from 'nanotar';
/**
 * Test helpers: `encodeNpy` writes a `.npy` file (any version, dtype and memory order) so
 * tests can exercise `parseNpy` without NumPy.
 */
export interface EncodeNpyOptions {
  /** '<f4' (default), '<f8', '<i4', '<i8', '|u1', '<u2', '>f4', ... */
  descr?: string;
  /** Store column-major (the data argument is still row-major). Default false. */
  fortranOrder?: boolean;
  /** Format version 1 (default), 2 or 3. */
  version?: 1 | 2 | 3;
  /** The shape written in the header; default [rows, cols]. Use [rows] for a 1-D array. */
  shape?: readonly number[];
}

/** Encode a row-major rows×cols matrix of numbers as .npy bytes. */
export function encodeNpy(values: ArrayLike<number>, rows: number, cols: number, o: EncodeNpyOptions = {}): Uint8Array {
  const descr = o.descr ?? '<f4';
  const fortran = o.fortranOrder ?? false;
  const version = o.version ?? 1;
  const shape = o.shape ?? [rows, cols];
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': ${shapeText}, }`;
  const pre = version === 1 ? 10 : 12;
  const total = Math.ceil((pre + header.length + 1) / 64) * 64;
  header = header.padEnd(total - pre - 1, ' ') + '\n';
  const le = descr[0] !== '>';
  const kind = descr.slice(1);
  const size = Number(kind.slice(1));
  const body = new DataView(new ArrayBuffer(rows * cols * size));
  for (let k = 0; k < rows * cols; k++) {
    const r = fortran ? k % rows : Math.floor(k / cols);
    const c = fortran ? Math.floor(k / rows) : k % cols;
    const v = values[r * cols + c]!;
    const off = k * size;
    switch (kind) {
      case 'f4': body.setFloat32(off, v, le); break;
      case 'f8': body.setFloat64(off, v, le); break;
      case 'i1': body.setInt8(off, v); break;
      case 'u1': body.setUint8(off, v); break;
      case 'i2': body.setInt16(off, v, le); break;
      case 'u2': body.setUint16(off, v, le); break;
      case 'i4': body.setInt32(off, v, le); break;
      case 'u4': body.setUint32(off, v, le); break;
      case 'i8': body.setBigInt64(off, BigInt(v), le); break;
      case 'u8': body.setBigUint64(off, BigInt(v), le); break;
      default: throw new Error(`encodeNpy: unsupported dtype ${descr}`);
    }
  }
  const out = new Uint8Array(total + body.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const dv = new DataView(out.buffer);
  if (version === 1) dv.setUint16(8, header.length, true);
  else dv.setUint32(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[pre + i] = header.charCodeAt(i);
  out.set(new Uint8Array(body.buffer), total);
  return out;
}

/** Encode an IDX file (uint8 data, dtype 0x08 unless overridden), optionally gzipped. */
export function encodeIdx(data: ArrayLike<number>, shape: readonly number[], o: { dtype?: number; gzip?: boolean } = {}): Uint8Array {
  const header = new Uint8Array(4 + 4 * shape.length);
  header[2] = o.dtype ?? 0x08;
  header[3] = shape.length;
  const dv = new DataView(header.buffer);
  shape.forEach((d, k) => dv.setUint32(4 + 4 * k, d, false));
  const out = new Uint8Array(header.length + data.length);
  out.set(header);
  out.set(Uint8Array.from(data), header.length);
  return o.gzip ? gzipSync(out) : out;
}

/** Encode a CIFAR-10 binary batch from labels and NHWC 32×32×3 images (default: a pattern from the index). */
export function encodeCifarBatch(labels: ArrayLike<number>, images?: Uint8Array): Uint8Array {
  const n = labels.length;
  const out = new Uint8Array(n * 3073);
  for (let i = 0; i < n; i++) {
    out[i * 3073] = labels[i]!;
    for (let p = 0; p < 1024; p++) {
      for (let c = 0; c < 3; c++) {
        out[i * 3073 + 1 + c * 1024 + p] = images ? images[i * 3072 + 3 * p + c]! : (i * 7 + p * 3 + c * 50) & 255;
      }
    }
  }
  return out;
}

/** A `cifar-10-binary.tar.gz`-shaped archive: the named batches under cifar-10-batches-bin/. */
export function makeCifarArchive(batches: Readonly<Record<string, Uint8Array>>, o: { gzip?: boolean; dir?: string } = {}): Uint8Array {
  const dir = o.dir ?? 'cifar-10-batches-bin';
  const tar = createTar([
    { name: `${dir}/` },
    ...Object.entries(batches).map(([name, data]) => ({ name: `${dir}/${name}`, data })),
  ]);
  return o.gzip === false ? tar : gzipSync(tar);
}
