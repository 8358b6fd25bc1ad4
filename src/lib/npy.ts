// NumPy .npy (format version 1.0) for the arrays jobs hand to Python users: numpy.load reads them as is.
const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

const DESCR = { uint8: '|u1', int64: '<i8', float32: '<f4' } as const;

export function encodeNpy(array: Uint8Array | BigInt64Array | Float32Array, shape: number[]): Uint8Array {
  const dtype = array instanceof Uint8Array ? 'uint8' : array instanceof BigInt64Array ? 'int64' : 'float32';
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  let header = `{'descr': '${DESCR[dtype]}', 'fortran_order': False, 'shape': (${dims}), }`;
  // The header (with magic, version and length) is padded with spaces to a multiple of 64 bytes, ending in \n.
  const unpadded = MAGIC.length + 2 + 2 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64);
  header += '\n';
  const bytes = new Uint8Array(MAGIC.length + 4 + header.length + array.byteLength);
  bytes.set(MAGIC, 0);
  bytes[6] = 1; // major version
  bytes[7] = 0; // minor version
  new DataView(bytes.buffer).setUint16(8, header.length, true);
  bytes.set(new TextEncoder().encode(header), 10);
  bytes.set(new Uint8Array(array.buffer, array.byteOffset, array.byteLength), 10 + header.length);
  return bytes;
}
