/**
 * @dcformer/checkpoint, browser-safe entry: parse and write checkpoint bytes you already have.
 * No tfjs and no other @dcformer package: typed arrays in, typed arrays out. Reading from disk
 * (single files, shards, PyTorch .bin) is `@dcformer/checkpoint/node`.
 */
export { CheckpointError, formatShape, type CheckpointErrorOptions } from './errors.js';
export { MAX_JSON_DEPTH, jsonDepthViolation, parseJsonBounded, valueTooDeep } from './json.js';
export { describeValue } from './describe.js';
export { AllocationBudget, BUDGET_SLACK_BYTES, FILE_EXPANSION } from './budget.js';
export {
  CONVERT_CHUNK_BYTES,
  DTYPE_SIZES,
  FLOAT_DTYPES,
  MAX_HEADER_BYTES,
  checkFloatDtype,
  decodeIntoFloat32,
  f16BitsToNumber,
  numberToBf16Bits,
  numberToF16Bits,
  parseSafetensors,
  parseSafetensorsHeader,
  readAsFloat32,
  safetensorsPrefixLength,
  serializeSafetensors,
  toFloat32,
  type ParsedSafetensors,
  type RawTensor,
  type SafetensorsDtype,
  type SafetensorsHeader,
  type SerializeOptions,
  type TensorEntry,
  type TensorToWrite,
  type WriteDtype,
} from './safetensors.js';
export {
  ZipArchive,
  buildStoredZip,
  crc32,
  memorySource,
  openZip,
  type BuildZipOptions,
  type RandomAccessSource,
  type ZipEntry,
  type ZipReadOptions,
} from './zip.js';
export {
  ALLOWED_GLOBALS,
  MAX_PICKLE_OPS,
  STORAGE_DTYPES,
  unpickleTorch,
  type GlobalRef,
  type PickleValue,
  type StorageRef,
  type TensorRef,
} from './pickle.js';
