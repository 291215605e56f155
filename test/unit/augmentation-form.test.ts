import { describe, expect, it } from 'vitest';
import {
  AUGMENTATION_CONTROLS,
  augmentationFromForm,
  defaultPlaceholder,
} from '../../src-renderer/src/tabs/train/augmentation-form.ts';
import { trainOverridesSchema } from '../../src-shared/api-schemas.ts';
import {
  augmentationSchema,
  imageAugmentationSchema,
  jsonAugmentationSchema,
} from '../../src-shared/augmentation-config.ts';

describe('Train form augmentation controls', () => {
  it('offer every setting of the shared schema except the stored views’ recipe', () => {
    const offered = AUGMENTATION_CONTROLS.map((c) => c.path.join('.')).sort();
    const all = [
      ...Object.keys(jsonAugmentationSchema.shape).map((k) => `json.${k}`),
      ...Object.keys(imageAugmentationSchema.shape)
        .filter((k) => k !== 'viewSettings')
        .map((k) => `image.${k}`),
    ].sort();
    expect(offered).toEqual(all);
  });

  it('all empty is no augmentation; filled ones parse with defaults for the rest, and the API takes them', () => {
    expect(augmentationFromForm({})).toEqual({ ok: true, settings: undefined });
    const r = augmentationFromForm({
      fieldDropout: '0.2',
      synonym: '0.3',
      mix: '0.1',
      mixFields: 'material, detail',
      styleStrength: '레트로:2, 로맨틱:0.5',
      views: '2',
      viewSeed: '7',
      mixup: '0.5',
      mixupAlpha: '0.8',
    });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.settings).toEqual(
      augmentationSchema.parse({
        json: {
          fieldDropout: 0.2,
          synonym: 0.3,
          mix: 0.1,
          mixFields: ['material', 'detail'],
          styleStrength: { 레트로: 2, 로맨틱: 0.5 },
        },
        image: { views: 2, viewSeed: 7, mixup: 0.5, mixupAlpha: 0.8 },
      }),
    );
    expect(trainOverridesSchema.parse({ augmentation: r.settings }).augmentation).toEqual(r.settings);
    const only = augmentationFromForm({ mixup: '0.3' });
    expect(only.ok && only.settings?.image).toMatchObject({ mixup: 0.3, mixupAlpha: 0.4, views: 0 });
  });

  it('name the control in every error', () => {
    const cases: [Record<string, string>, string, RegExp][] = [
      [{ fieldDropout: '0.95' }, 'fieldDropout', /^Field dropout p: .*0 and 0\.9/],
      [{ synonym: 'lots' }, 'synonym', /^Synonym replacement p: expected a number, got "lots"/],
      [{ mix: '2' }, 'mix', /^Attribute mixing p: .*between 0 and 1/],
      [{ styleStrength: '레트로' }, 'styleStrength', /^Per-style strength: "레트로" is not STYLE:FACTOR/],
      [{ styleStrength: '레트로:-1' }, 'styleStrength', /^Per-style strength: .*0 or more/],
      [{ views: '1.5' }, 'views', /^Image views: expected a whole number/],
      [{ views: '99' }, 'views', /^Image views: /],
      [{ viewSeed: '-1' }, 'viewSeed', /^View seed: /],
      [{ mixup: '1.5' }, 'mixup', /^MixUp p: .*between 0 and 1/],
      [{ mixupAlpha: '0' }, 'mixupAlpha', /^MixUp α: /],
    ];
    for (const [text, control, message] of cases) {
      const r = augmentationFromForm(text);
      expect(r.ok, JSON.stringify(text)).toBe(false);
      if (r.ok) continue;
      expect(r.control).toBe(control);
      expect(r.message).toMatch(message);
    }
  });

  it('show the schema defaults as placeholders', () => {
    expect(defaultPlaceholder('mixupAlpha')).toBe('0.4');
    expect(defaultPlaceholder('mixFields')).toBe('material, detail, print');
    expect(defaultPlaceholder('fieldDropout')).toBe('0');
  });
});
