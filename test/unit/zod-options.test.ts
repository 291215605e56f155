/**
 * Flags derived from the encoder's zod schema: names, help text with defaults, validation messages
 * naming the flag, and the round trip flags → settings → config.json → settings.
 */
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { flagOf, pickZodOptions, zodOptions } from '../../src-main/cli/zod-options.ts';
import { DEFAULT_ENCODER_SETTINGS, encoderSettingsSchema } from '../../src-shared/encoder-config.ts';

function program() {
  const cmd = new Command('train').exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  for (const o of zodOptions(encoderSettingsSchema.shape)) cmd.addOption(o);
  return cmd;
}

function parse(args: string[]) {
  const cmd = program();
  cmd.parse(args, { from: 'user' });
  return pickZodOptions(encoderSettingsSchema.shape, cmd.opts());
}

describe('zod schema → commander options', () => {
  it('derives every flag from the schema, with descriptions and defaults in the help', () => {
    expect(flagOf('gradClip')).toBe('--grad-clip');
    const help = program().helpInformation();
    for (const f of [
      '--hidden-dim',
      '--embed-dim',
      '--depth',
      '--residual',
      '--norm',
      '--activation',
      '--dropout',
      '--grad-clip',
      '--scheduler',
      '--warmup',
      '--weight-decay',
    ])
      expect(help).toContain(f);
    expect(help).toMatch(/--hidden-dim <value>\s+width of the hidden layers \(default: 1024\)/);
    expect(help).toMatch(
      /--norm <name>[\s\S]*\(default: "none"\)[\s\S]*\(choices: "none", "layer", "batch"\)/,
    );
  });

  it('parses values and leaves unset flags undefined (presets stay underneath)', () => {
    const got = parse([
      '--depth',
      '4',
      '--residual',
      '--norm',
      'layer',
      '--activation',
      'gelu',
      '--dropout',
      '0.2',
    ]);
    expect(got).toEqual({ depth: 4, residual: true, norm: 'layer', activation: 'gelu', dropout: 0.2 });
    expect(parse([])).toEqual({});
    expect(parse(['--no-residual'])).toEqual({ residual: false });
  });

  it('rejects bad values with a message naming the flag', () => {
    expect(() => parse(['--dropout', '1.5'])).toThrow(/--dropout must be in \[0, 1\), got "1.5"/);
    expect(() => parse(['--depth', '2.5'])).toThrow(/--depth must be a whole number, got "2.5"/);
    expect(() => parse(['--hidden-dim', 'big'])).toThrow(/--hidden-dim expects a number, got "big"/);
    expect(() => parse(['--scheduler', 'linear'])).toThrow(
      /--scheduler.*Allowed choices are cosine, step, exponential, constant/,
    );
  });

  it('round-trips flags → settings → config.json → settings', () => {
    const settings = encoderSettingsSchema.parse(
      parse(['--grad-clip', '0.5', '--scheduler', 'step', '--gamma', '0.3']),
    );
    expect(settings).toEqual({ ...DEFAULT_ENCODER_SETTINGS, gradClip: 0.5, scheduler: 'step', gamma: 0.3 });
    const json = JSON.parse(JSON.stringify(settings));
    expect(encoderSettingsSchema.parse(json)).toEqual(settings);
  });
});
