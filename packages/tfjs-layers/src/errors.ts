import { DcformerError } from '@dcformer/kernels';

/**
 * tfjs-layers reports bad layer arguments and incompatible inputs with a `ValueError` (Python's name,
 * kept by Keras). Its own class is not exported, so ours mirrors it: `name` is 'ValueError', the message
 * names the layer, and it is also a DcformerError so `DcformerError.isInstance` sees it across package
 * copies.
 */
export class ValueError extends DcformerError {
  /** The layer that complained, e.g. 'dc_multi_head_attention_DCMultiHeadAttention1'. */
  readonly layerName: string;

  constructor(layerName: string, message: string, code: 'shape' | 'config' = 'config') {
    super(code, message);
    this.layerName = layerName;
  }
}

/** Who is complaining, in the form every message of this package starts with. */
export function layerLabel(className: string, layerName: string): string {
  return `Layer ${layerName} (${className})`;
}

/** `[null,8,16]`: a Layers API shape (unknown sizes are null) the way our messages print it. */
export function formatLayerShape(shape: readonly (number | null)[]): string {
  return `[${shape.map((d) => (d === null ? 'null' : d)).join(',')}]`;
}
