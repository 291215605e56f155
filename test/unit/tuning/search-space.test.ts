import { describe, expect, it } from 'vitest';
import { GridSampler } from '../../../src-main/tuning/samplers.ts';
import {
  checkSearchSpace,
  fieldStudySets,
  fromTransformed,
  PRESET_SPACES,
  parseSearchSpace,
  SearchSpaceError,
  STAGED_PRESET,
} from '../../../src-main/tuning/search-space.ts';

const bad = (space: unknown) => () => checkSearchSpace(space, 'space.json');

describe('search spaces', () => {
  it('parses every kind of distribution, including a field set', () => {
    const s = parseSearchSpace(
      JSON.stringify({
        parameters: {
          lr: { type: 'log-uniform', low: 1e-4, high: 1e-3 },
          dropout: { type: 'uniform', low: 0.1, high: 0.3 },
          epochs: { type: 'int', low: 50, high: 100, step: 25 },
          hiddenDim: { type: 'categorical', choices: [256, 512, 1024] },
          fields: {
            type: 'categorical',
            choices: [
              ['category', 'style'],
              ['category', 'style', 'color'],
            ],
          },
        },
        fixed: { temperature: 0.07 },
      }),
      'space.json',
    );
    expect(s.parameters.lr).toEqual({ kind: 'float', low: 1e-4, high: 1e-3, log: true });
    expect(s.parameters.epochs).toEqual({ kind: 'int', low: 50, high: 100, step: 25, log: false });
    expect(s.parameters.fields).toMatchObject({ kind: 'categorical' });
    expect(s.fixed).toEqual({ temperature: 0.07 });
    expect(fromTransformed(s.parameters.epochs as never, 63)).toBe(75);
  });

  it('rejects an unknown parameter, naming it', () => {
    expect(bad({ parameters: { learning_rate: { type: 'uniform', low: 0, high: 1 } } })).toThrow(
      /unknown parameter "learning_rate".*lr/,
    );
  });

  it('rejects an empty choice list, naming the parameter', () => {
    expect(bad({ parameters: { hiddenDim: { type: 'categorical', choices: [] } } })).toThrow(
      /parameter "hiddenDim": the choice list is empty/,
    );
  });

  it('rejects low > high, naming the parameter', () => {
    expect(bad({ parameters: { dropout: { type: 'uniform', low: 0.3, high: 0.1 } } })).toThrow(
      /parameter "dropout": low \(0.3\) is greater than high \(0.1\)/,
    );
  });

  it('rejects bad values, types and fields with the parameter named', () => {
    expect(bad({ parameters: { lr: { type: 'log-uniform', low: 0, high: 1 } } })).toThrow(/"lr".*low/);
    expect(bad({ parameters: { dropout: { type: 'uniform', low: 0, high: 1 } } })).toThrow(
      /"dropout": high must be below 1/,
    );
    expect(bad({ parameters: { norm: { type: 'categorical', choices: ['group'] } } })).toThrow(
      /"norm": choice "group" must be one of/,
    );
    expect(
      bad({ parameters: { fields: { type: 'categorical', choices: [['category', 'colour']] } } }),
    ).toThrow(/"fields".*unknown field "colour"/);
    expect(bad({ parameters: { lr: { type: 'normal', low: 0, high: 1 } } })).toThrow(
      /parameter "lr".*type must be one of/,
    );
    expect(bad({ parameters: {} })).toThrow(/nothing to tune/);
    expect(bad({ parameters: { lr: { type: 'uniform', low: 0.1, high: 1 } }, fixed: { lr: 0.1 } })).toThrow(
      /both tuned and fixed/,
    );
    expect(() => parseSearchSpace('{', 'x.json')).toThrow(SearchSpaceError);
  });

  it('has the research plan presets as data', () => {
    for (const p of Object.values(PRESET_SPACES)) expect(() => checkSearchSpace(p, 'preset')).not.toThrow();
    expect(STAGED_PRESET.map((s) => s.trials)).toEqual([20, 15, 10]);
    const p1 = checkSearchSpace(PRESET_SPACES.priority1, 'priority1');
    expect(GridSampler.size(p1)).toBe(3 * 3 * 4 * 3);
    const sets = fieldStudySets(['category', 'style', 'silhouette', 'material', 'detail']);
    expect(sets).toHaveLength(1 + 5 + 7);
    expect(sets.find((s) => s.label === '+ color')?.fields).toEqual([
      'category',
      'style',
      'silhouette',
      'material',
      'detail',
      'color',
    ]);
  });
});
