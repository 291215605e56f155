/**
 * Errors in the words of the UI. The contract's validation and the core's errors name API fields
 * ("Invalid input to dataset.scan: data: …") or CLI flags ("lr (--lr): …", "--temperatures needs …"),
 * which is right for the CLI and the HTTP API but means nothing to someone looking at a form. Here each
 * method's fields are mapped to the label of the control that sets them, so the message names the
 * control, and the fields named are returned so those controls can be outlined (aria-invalid).
 */

/** Per contract method: API field path (dots for nesting) → the label of the control that sets it. */
export const CONTROL_LABELS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  'workspace.open': { path: 'Workspace folder' },
  'dataset.scan': { data: 'Dataset folder' },
  'train.start': {
    stage: 'Preset',
    quick: 'quick',
    resume: 'resume the last run',
    epochs: 'Epochs',
    batchSize: 'Batch size',
    lr: 'Learning rate',
    temperature: 'Temperature',
    weightDecay: 'Weight decay',
    warmupFraction: 'Warm-up fraction',
    patience: 'Patience (epochs)',
    valQueries: 'Validation queries (empty: all)',
    seed: 'Seed',
    hiddenDim: 'Hidden dim',
    embedDim: 'Field embedding dim',
    dropout: 'Dropout',
    backend: 'Backend',
    model: 'Image embeddings',
    fields: 'Encoder fields',
  },
  'eval.run': { protocol: 'Protocol', batchSize: 'Batch size' },
  'eval.sweep': { temperatures: 'Temperatures', epochs: 'Epochs', quick: 'quick' },
  'search.run': { query: 'Query attributes', image: 'Query picture', k: 'Top K' },
  'catalog.add': { image: 'New product image', name: 'Product name', style: 'Style', category: 'Category' },
  'catalog.remove': { ids: 'Selected products' },
  'recommend.customerInput': { image: "Customer's picture", k: 'k' },
  'recommend.top10ToNew': { ids: 'Best-seller ids', images: 'Best-seller pictures', k: 'k' },
  'export.bundle': { name: 'Bundle file name' },
};

export interface UiError {
  message: string;
  /** The API fields (last path segment, e.g. "lr", "data") the message is about. */
  fields: string[];
}

const kebab = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The label of an API field path ("overrides.lr", "image.dataBase64", "temperatures.2"). */
function labelOf(
  labels: Readonly<Record<string, string>>,
  path: string,
): { label: string; field: string } | null {
  const parts = path.split('.').filter((p) => !/^\d+$/.test(p));
  // The longest suffix first: "overrides.lr" is found as "lr", "image.dataBase64" as "image".
  for (let i = 0; i < parts.length; i++) {
    const key = parts.slice(i).join('.');
    if (labels[key]) return { label: labels[key], field: parts.at(-1)! };
  }
  for (let i = parts.length; i > 0; i--) {
    const key = parts.slice(0, i).join('.');
    if (labels[key]) return { label: labels[key], field: parts[i - 1]! };
  }
  return null;
}

/** Rewrites `message` (from a call to `method`) to name controls; unchanged when nothing matches. */
export function speakUi(method: string | undefined, message: string): UiError {
  const labels = method ? CONTROL_LABELS[method] : undefined;
  if (!labels || !method) return { message, fields: [] };
  const fields = new Set<string>();
  let text = message;

  // The contract's validation: "Invalid input to M: a.b: msg; c: msg".
  const prefix = `Invalid input to ${method}: `;
  if (text.startsWith(prefix)) {
    text = text
      .slice(prefix.length)
      .split('; ')
      .map((part) => {
        const m = /^([\w.]+): (.*)$/s.exec(part);
        const hit = m ? labelOf(labels, m[1]!) : null;
        if (!m || !hit) return part;
        fields.add(hit.field);
        return `${hit.label}: ${m[2]}`;
      })
      .join('; ');
  }

  for (const [key, label] of Object.entries(labels)) {
    const field = key.split('.').at(-1)!;
    const flag = `--${kebab(field)}`;
    // The trainer's "lr (--lr): …" and a bare "--temperatures needs …".
    const named = new RegExp(`(^|[\\s:;(])${escapeRegExp(field)} \\(${escapeRegExp(flag)}\\)`, 'g');
    const bare = new RegExp(`(^|[\\s:;(\`'"])${escapeRegExp(flag)}(?![\\w-])`, 'g');
    const before = text;
    text = text.replace(named, `$1${label}`).replace(bare, `$1${label}`);
    if (text !== before) fields.add(field);
  }
  return { message: text, fields: [...fields] };
}
