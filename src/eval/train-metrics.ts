/**
 * Classification metrics from predictions: accuracy (percent), macro precision/recall/F1 and the
 * confusion matrix. Pure functions over typed arrays; the trainer feeds them argmax predictions.
 */

export interface ClassificationMetrics {
  readonly loss: number;
  /** Percent in [0, 100]. */
  readonly acc: number;
  /** Macro averages over classes, in [0, 1]. A class never predicted has precision 0 (sklearn's zero_division=0). */
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  /** `confusion[true][predicted]` counts. */
  readonly confusion: number[][];
  readonly n: number;
}

/** Running confusion matrix and summed loss over batches. */
export class ConfusionAccumulator {
  private readonly m: Int32Array;
  private lossSum = 0;
  private count = 0;

  constructor(readonly numClasses: number) {
    this.m = new Int32Array(numClasses * numClasses);
  }

  /** `meanLoss` is the batch's mean loss; it is weighted by the batch size. */
  add(labels: ArrayLike<number>, predictions: ArrayLike<number>, meanLoss: number): void {
    const k = this.numClasses;
    for (let i = 0; i < labels.length; i++) this.m[(labels[i] as number) * k + (predictions[i] as number)]!++;
    this.lossSum += meanLoss * labels.length;
    this.count += labels.length;
  }

  result(): ClassificationMetrics {
    return metricsFromConfusion(this.m, this.numClasses, this.count ? this.lossSum / this.count : NaN);
  }
}

export function metricsFromConfusion(m: Int32Array, k: number, loss: number): ClassificationMetrics {
  let correct = 0;
  let n = 0;
  let p = 0;
  let r = 0;
  let f = 0;
  let present = 0;
  const confusion: number[][] = [];
  for (let t = 0; t < k; t++) confusion.push(Array.from(m.subarray(t * k, t * k + k)));
  for (let c = 0; c < k; c++) {
    const tp = m[c * k + c] as number;
    let predC = 0;
    let trueC = 0;
    for (let j = 0; j < k; j++) {
      predC += m[j * k + c] as number;
      trueC += m[c * k + j] as number;
    }
    correct += tp;
    n += trueC;
    // Macro averages over the classes present in the evaluated labels (sklearn averages over the
    // union of labels and predictions; absent classes add a 0 there too when predicted).
    if (trueC === 0 && predC === 0) continue;
    present++;
    const prec = predC ? tp / predC : 0;
    const rec = trueC ? tp / trueC : 0;
    p += prec;
    r += rec;
    f += prec + rec > 0 ? (2 * prec * rec) / (prec + rec) : 0;
  }
  return {
    loss,
    acc: n ? (100 * correct) / n : NaN,
    precision: present ? p / present : NaN,
    recall: present ? r / present : NaN,
    f1: present ? f / present : NaN,
    confusion,
    n,
  };
}
