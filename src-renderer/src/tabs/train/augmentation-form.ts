/**
 * The Train form's augmentation controls as text, turned into the shared AugmentationSettings
 * (src-shared/augmentation-config.ts) or an error naming the control. The schema is the one the
 * trainer, the CLI flags and the API validate with, so the form cannot accept what a run would refuse;
 * this module only maps the controls' text to its fields and its error paths back to the labels.
 */
import { type AugmentationSettings, augmentationSchema } from '../../../../src-shared/augmentation-config.ts';

/** Every augmentation setting the form offers, keyed by the schema path it fills. */
export const AUGMENTATION_CONTROLS = [
  { key: 'fieldDropout', path: ['json', 'fieldDropout'], label: 'Field dropout p', kind: 'number' },
  { key: 'synonym', path: ['json', 'synonym'], label: 'Synonym replacement p', kind: 'number' },
  { key: 'mix', path: ['json', 'mix'], label: 'Attribute mixing p', kind: 'number' },
  { key: 'mixFields', path: ['json', 'mixFields'], label: 'Mixed fields', kind: 'list' },
  { key: 'styleStrength', path: ['json', 'styleStrength'], label: 'Per-style strength', kind: 'strengths' },
  { key: 'views', path: ['image', 'views'], label: 'Image views', kind: 'integer' },
  { key: 'viewSeed', path: ['image', 'viewSeed'], label: 'View seed', kind: 'integer' },
  { key: 'mixup', path: ['image', 'mixup'], label: 'MixUp p', kind: 'number' },
  { key: 'mixupAlpha', path: ['image', 'mixupAlpha'], label: 'MixUp α', kind: 'number' },
] as const;

export type AugmentationControlKey = (typeof AUGMENTATION_CONTROLS)[number]['key'];
export type AugmentationText = Partial<Record<AugmentationControlKey, string>>;

export type AugmentationFormResult =
  | { ok: true; settings: AugmentationSettings | undefined }
  | { ok: false; control: AugmentationControlKey; message: string };

const fail = (control: AugmentationControlKey, message: string): AugmentationFormResult => ({
  ok: false,
  control,
  message: `${AUGMENTATION_CONTROLS.find((c) => c.key === control)!.label}: ${message}`,
});

/**
 * The settings the controls describe: undefined when every control is empty (the run has no
 * augmentation, exactly as without the flags), else the parsed settings with the schema's defaults
 * for the empty ones.
 */
export function augmentationFromForm(text: AugmentationText): AugmentationFormResult {
  const raw: { json: Record<string, unknown>; image: Record<string, unknown> } = { json: {}, image: {} };
  let any = false;
  for (const c of AUGMENTATION_CONTROLS) {
    const t = text[c.key]?.trim();
    if (!t) continue;
    any = true;
    const [side, field] = c.path;
    let value: unknown;
    if (c.kind === 'number' || c.kind === 'integer') {
      const n = Number(t);
      if (!Number.isFinite(n)) return fail(c.key, `expected a number, got "${t}"`);
      if (c.kind === 'integer' && !Number.isInteger(n))
        return fail(c.key, `expected a whole number, got "${t}"`);
      value = n;
    } else if (c.kind === 'list') {
      value = t
        .split(/[,+]/)
        .map((s) => s.trim())
        .filter(Boolean);
    } else {
      // "레트로:2, 로맨틱:0.5"
      const strengths: Record<string, number> = {};
      for (const pair of t.split(/[,+]/)) {
        const [style = '', factor = ''] = pair.split(':').map((s) => s.trim());
        const n = Number(factor);
        if (!style || factor === '' || !Number.isFinite(n))
          return fail(c.key, `"${pair.trim()}" is not STYLE:FACTOR (e.g. 레트로:2)`);
        strengths[style] = n;
      }
      value = strengths;
    }
    raw[side][field] = value;
  }
  if (!any) return { ok: true, settings: undefined };
  const r = augmentationSchema.safeParse(raw);
  if (r.success) return { ok: true, settings: r.data };
  const issue = r.error.issues[0]!;
  const [side, field] = issue.path.map(String);
  const control = AUGMENTATION_CONTROLS.find((c) => c.path[0] === side && c.path[1] === field);
  return control
    ? fail(control.key, issue.message)
    : { ok: false, control: 'fieldDropout', message: `Augmentation: ${issue.message}` };
}

/** What an empty control means (the schema's default), shown greyed as its placeholder. */
export function defaultPlaceholder(key: AugmentationControlKey): string {
  const d = augmentationSchema.parse({});
  const c = AUGMENTATION_CONTROLS.find((x) => x.key === key)!;
  const v = (d as unknown as Record<string, Record<string, unknown>>)[c.path[0]]![c.path[1]];
  if (Array.isArray(v)) return v.join(', ');
  if (v && typeof v === 'object') return 'e.g. 레트로:2';
  return String(v);
}
