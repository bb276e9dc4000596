/**
 * @dcformer/checkpoint/node: checkpoint folders on disk. Everything of the browser-safe entry, plus
 * the readers of single and sharded safetensors and PyTorch .bin files, the atomic writer, and the
 * one way this project opens files from strangers (regular files only, bounded reads, symlinks only
 * inside the folder or its Hugging Face cache blobs).
 */
export * from './index.js';
export {
  MAX_INDEX_BYTES,
  SAFETENSORS_FILE,
  SAFETENSORS_INDEX_FILE,
  TORCH_FILE,
  TORCH_INDEX_FILE,
  readCheckpointWeights,
  readSafetensorsFile,
  readSafetensorsWeights,
  SINK_SLICE_BYTES,
  sinkSliceValues,
  writeFileAtomic,
  writeFileAtomicWith,
  writeSafetensorsWeights,
  type CheckpointWeights,
  type LoadedTensor,
  type ReadWeightsOptions,
  type SkippedTensor,
  type TensorSink,
} from './files.js';
export {
  MAX_PICKLE_BYTES,
  fileSource,
  openTorchCheckpoint,
  openZipFile,
  readTorchStateDict,
  type TorchCheckpoint,
  type TorchReadOptions,
  type TorchTensorInfo,
} from './torch-bin.js';
export {
  MAX_READ_SLICE,
  checkpointEntry,
  ensureDirectory,
  entryExists,
  folderEntrySync,
  nonRegularReason,
  openRegularFile,
  readInto,
  readRange,
  readRegularFile,
  readRegularFileSync,
  readRegularTextFile,
  type MakeError,
  type RegularFile,
} from './open-file.js';
export {
  serializeRawSafetensors,
  writeRawSafetensors,
  writeRawSafetensorsStreaming,
  readRawTensors,
  type RawTensorSpec,
  type RawTensorToWrite,
} from './quantized.js';
