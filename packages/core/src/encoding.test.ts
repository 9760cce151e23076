import { describe, expect, it } from 'vitest';
import { base64ToBytes, base64ToFloat32, bytesToBase64, float32ToBase64 } from './encoding.js';

describe('base64 of little-endian float32', () => {
  it('matches RFC 4648 test vectors', () => {
    const enc = (s: string) => bytesToBase64(new TextEncoder().encode(s));
    expect(['', 'f', 'fo', 'foo', 'foob', 'fooba', 'foobar'].map(enc)).toEqual(['', 'Zg==', 'Zm8=', 'Zm9v', 'Zm9vYg==', 'Zm9vYmE=', 'Zm9vYmFy']);
    expect(new TextDecoder().decode(base64ToBytes('Zm9vYmE=')!)).toBe('fooba');
  });

  it('round-trips float32 values bit for bit, including ±0, ±Inf, NaN and subnormals', () => {
    const v = new Float32Array([0, -0, 1, -1.5, Math.PI, 3.4e38, -Infinity, Infinity, NaN, 1e-45, 123456.789]);
    const back = base64ToFloat32(float32ToBase64(v))!;
    expect(new Uint32Array(back.buffer)).toEqual(new Uint32Array(v.buffer));
    // little-endian: 1.0f is 00 00 80 3f
    expect(float32ToBase64(new Float32Array([1]))).toBe('AACAPw==');
  });

  it('rejects text that is not padded base64 or not whole floats (null, never a throw)', () => {
    expect(base64ToFloat32('AACAPw=')).toBeNull(); // not a multiple of 4
    expect(base64ToFloat32('AACA*w==')).toBeNull(); // bad character
    expect(base64ToFloat32('AACA')).toBeNull(); // 3 bytes: not a whole float
    expect(base64ToBytes('=AAA')).toBeNull(); // padding in the wrong place
  });
});
