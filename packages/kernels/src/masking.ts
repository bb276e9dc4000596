/**
 * The one value every attention path of this project gives a masked logit, whether it is added to
 * the logit (an additive mask) or put in its place (a fill). The official code fills with float32's
 * lowest value; −1e30 gives the same softmax: a masked entry's exp underflows to exactly 0, and in a
 * row with no visible key every entry is −1e30 to float32 precision (|logit| ≪ ulp(1e30) ≈ 8e22), so
 * the row is uniform, as with the fill. Float32's lowest value itself overflows to −∞ when added to a
 * negative logit (and −∞ − (−∞) is NaN in a row with no visible key).
 */
export const MASKED_LOGIT = -1e30;
