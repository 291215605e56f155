/** `kfashion import-checkpoint FILE.pt --workspace WS [--config map.json]`: an earlier PyTorch model in. */
import { relative } from 'node:path';
import type { Command } from 'commander';
import { importCheckpoint } from '../../training/import-checkpoint.ts';
import { printJson } from '../run.ts';

export function registerImportCheckpointCommand(program: Command): void {
  program
    .command('import-checkpoint')
    .description(
      'Import a PyTorch state_dict saved with torch.save (read without executing pickled code) as a checkpoint of this workspace, to evaluate it with the same protocols (kfashion eval --checkpoint).',
    )
    .argument('<file.pt>', 'the torch.save file (zip format, torch ≥ 1.6)')
    .requiredOption('--workspace <dir>', 'the workspace whose vocabulary the model was trained on')
    .option(
      '--config <map.json>',
      'tensor-name mapping {"tensors": {"<our name>": "<.pt name>"}} and what a state_dict cannot say {"encoder": {"activation": "gelu"}}',
    )
    .option('--model <id>', 'image-embedding model it aligns with (default: the only one in the workspace)')
    .option('--json', 'print the result as JSON')
    .action((file: string, o: { workspace: string; config?: string; model?: string; json?: boolean }) => {
      const r = importCheckpoint(o.workspace, file, { config: o.config, model: o.model });
      if (o.json) {
        printJson({ dir: r.dir, encoder: r.info.encoder, tensors: r.info.weights.tensors });
        return;
      }
      const e = r.info.encoder;
      console.log(
        `Imported ${file}: ${e.fields.length} fields × ${e.embedDim} → ${e.hiddenDim}, depth ${e.depth}${e.residual ? ' residual' : ''}, norm ${e.norm}, ${e.activation}.\nCheckpoint: ${relative(process.cwd(), r.dir) || '.'}\nEvaluate it: kfashion eval --workspace ${o.workspace} --checkpoint ${r.dir}`,
      );
    });
}
