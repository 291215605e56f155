/**
 * Versioned schema of the workspace database. A migration is appended, never edited: a workspace made
 * by an older version is upgraded in place on open, and `PRAGMA user_version` records how far it got.
 */
import type { Database } from 'better-sqlite3';

export interface Migration {
  version: number;
  name: string;
  up(db: Database): void;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'dataset: roots, scans, images, items, exclusions, skipped files, vocabulary, split, crops',
    up(db) {
      db.exec(`
        CREATE TABLE meta (
          key   TEXT PRIMARY KEY,
          value TEXT NOT NULL               -- JSON
        );
        CREATE TABLE data_roots (
          id        INTEGER PRIMARY KEY,
          path      TEXT NOT NULL UNIQUE,   -- absolute, as the user gave it (resolved)
          synthetic INTEGER NOT NULL DEFAULT 0,
          added_at  TEXT NOT NULL
        );
        CREATE TABLE scans (
          id          INTEGER PRIMARY KEY,
          root_id     INTEGER NOT NULL REFERENCES data_roots(id),
          started_at  TEXT NOT NULL,
          finished_at TEXT,
          status      TEXT NOT NULL CHECK (status IN ('running', 'done', 'cancelled', 'failed')),
          report      TEXT                   -- JSON ScanReport
        );
        -- One row per label file (= one image).
        CREATE TABLE images (
          key           TEXT PRIMARY KEY,    -- <style folder>/<label file stem>
          root_id       INTEGER NOT NULL REFERENCES data_roots(id),
          style_folder  TEXT NOT NULL,
          label_stem    TEXT NOT NULL,
          split_folder  TEXT,                -- Training | Validation | NULL for a sample layout
          label_path    TEXT NOT NULL,       -- relative to the data root
          image_path    TEXT,                -- relative to the data root; NULL when no image was found
          image_id      INTEGER,             -- 이미지 식별자
          shop_file     TEXT,                -- 이미지 파일명 (the shop's name, not the name on disk)
          look_key      TEXT NOT NULL,       -- split group: a shop look (PREFIX_NNN) or the image itself
          width         INTEGER,
          height        INTEGER,
          styles        TEXT NOT NULL,       -- JSON array: normalised 스타일 + 서브스타일
          label_created TEXT,                -- 파일 생성일자
          split         TEXT CHECK (split IN ('train', 'val')),
          scan_id       INTEGER NOT NULL
        );
        CREATE INDEX images_root_style ON images(root_id, style_folder);
        CREATE INDEX images_stem ON images(label_stem);
        CREATE INDEX images_image_id ON images(image_id);
        -- One row per usable garment: the unit of training.
        CREATE TABLE items (
          id          TEXT PRIMARY KEY,      -- <style folder>/<label file stem>/<part>
          image_key   TEXT NOT NULL REFERENCES images(key) ON DELETE CASCADE,
          part        TEXT NOT NULL,
          box_x       REAL NOT NULL,
          box_y       REAL NOT NULL,
          box_w       REAL NOT NULL,
          box_h       REAL NOT NULL,
          box_source  TEXT NOT NULL CHECK (box_source IN ('polygon', 'rect')),
          category    TEXT,
          attributes  TEXT NOT NULL,         -- JSON GarmentAttributes (normalised)
          scan_id     INTEGER NOT NULL
        );
        CREATE INDEX items_image ON items(image_key);
        CREATE INDEX items_category ON items(category);
        -- Garments present in a label that did not become items, and why.
        CREATE TABLE excluded_garments (
          image_key TEXT NOT NULL REFERENCES images(key) ON DELETE CASCADE,
          part      TEXT NOT NULL,
          reason    TEXT NOT NULL,
          PRIMARY KEY (image_key, part)
        );
        -- Label files a scan could not read, and why.
        CREATE TABLE skipped_files (
          scan_id INTEGER NOT NULL REFERENCES scans(id) ON DELETE CASCADE,
          path    TEXT NOT NULL,
          style_folder TEXT,
          reason  TEXT NOT NULL,
          detail  TEXT NOT NULL
        );
        CREATE INDEX skipped_scan ON skipped_files(scan_id);
        CREATE TABLE vocab (
          field TEXT NOT NULL,
          idx   INTEGER NOT NULL,            -- 0 = <pad>, 1 = <unk>
          value TEXT NOT NULL,
          count INTEGER NOT NULL,            -- garments carrying the value in this workspace
          known INTEGER NOT NULL,            -- 1 when the value is in K-Fashion's published value list
          PRIMARY KEY (field, idx),
          UNIQUE (field, value)
        );
        -- Label stems a --split file put on the validation side; kept so a re-scan re-applies it.
        CREATE TABLE split_val_stems (
          stem TEXT PRIMARY KEY
        );
        CREATE TABLE crops (
          item_id    TEXT PRIMARY KEY REFERENCES items(id) ON DELETE CASCADE,
          key        TEXT NOT NULL,          -- hash of image file identity + box: a change redoes the crop
          path       TEXT NOT NULL,          -- relative to the workspace
          width      INTEGER NOT NULL,
          height     INTEGER NOT NULL,
          created_at TEXT NOT NULL
        );
      `);
    },
  },
  {
    version: 2,
    name: 'image embeddings per (model, item); training runs and their metrics',
    up(db) {
      db.exec(`
        -- One row per image-embedding source: an ONNX model run here, or vectors imported from a file.
        CREATE TABLE embedding_models (
          model      TEXT PRIMARY KEY,       -- e.g. fashion-clip, marqo-fashionclip, synthetic-demo
          dim        INTEGER NOT NULL,
          source     TEXT NOT NULL CHECK (source IN ('onnx', 'import', 'synthetic')),
          detail     TEXT NOT NULL DEFAULT '{}',  -- JSON: model path, precision, import file, notes
          updated_at TEXT NOT NULL
        );
        -- Frozen image embeddings, L2-normalised float32, computed once per (model, crop).
        CREATE TABLE image_embeddings (
          model    TEXT NOT NULL REFERENCES embedding_models(model) ON DELETE CASCADE,
          item_id  TEXT NOT NULL REFERENCES items(id) ON DELETE CASCADE,
          crop_key TEXT,                      -- the crop it was computed from (NULL when imported)
          vector   BLOB NOT NULL,             -- dim little-endian float32
          PRIMARY KEY (model, item_id)
        ) WITHOUT ROWID;
        -- Deleting an item cascades here; without this index each delete scans every embedding.
        CREATE INDEX image_embeddings_item ON image_embeddings(item_id);
        CREATE TABLE runs (
          id          TEXT PRIMARY KEY,       -- e.g. train-20261124T031500Z-ab12
          kind        TEXT NOT NULL,          -- train, sweep, eval, ...
          status      TEXT NOT NULL CHECK (status IN ('running', 'done', 'stopped', 'failed')),
          config      TEXT NOT NULL,          -- JSON
          backend     TEXT,
          started_at  TEXT NOT NULL,
          finished_at TEXT,
          summary     TEXT                    -- JSON
        );
        CREATE TABLE run_metrics (
          run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
          epoch  INTEGER NOT NULL,
          step   INTEGER NOT NULL,
          name   TEXT NOT NULL,               -- train_loss, val_loss, top1, top5, mrr, lr, ...
          value  REAL NOT NULL,
          PRIMARY KEY (run_id, epoch, step, name)
        ) WITHOUT ROWID;
      `);
    },
  },
  {
    version: 3,
    name: 'recommendation: catalog of new products, their image embeddings, the recommendation (KPI) log',
    up(db) {
      db.exec(`
        -- New products a shop may recommend; not garments of the dataset.
        CREATE TABLE catalog_products (
          id           TEXT PRIMARY KEY,     -- letters, digits, . _ - (never a path)
          name         TEXT NOT NULL,
          style        TEXT,
          category     TEXT,
          image_path   TEXT NOT NULL,        -- relative to the workspace: catalog/<sha256>.<ext>
          image_sha256 TEXT NOT NULL,        -- of the image file's bytes: re-imports are recognised by it
          width        INTEGER NOT NULL,
          height       INTEGER NOT NULL,
          attributes   TEXT,                 -- JSON object or NULL
          synthetic    INTEGER NOT NULL DEFAULT 0,  -- 1 for the demo's generated products
          source       TEXT,                 -- where it came from (file name as given), shown only
          created_at   TEXT NOT NULL,
          updated_at   TEXT NOT NULL
        );
        CREATE INDEX catalog_products_sha ON catalog_products(image_sha256);
        -- Image embeddings of catalog products per model (the workspace image encoder's id).
        CREATE TABLE catalog_embeddings (
          model        TEXT NOT NULL,
          product_id   TEXT NOT NULL REFERENCES catalog_products(id) ON DELETE CASCADE,
          image_sha256 TEXT,                 -- the image it was computed from; NULL when imported
          source       TEXT NOT NULL CHECK (source IN ('onnx', 'import')),
          vector       BLOB NOT NULL,        -- dim little-endian float32, L2-normalised
          PRIMARY KEY (model, product_id)
        ) WITHOUT ROWID;
        CREATE INDEX catalog_embeddings_product ON catalog_embeddings(product_id);
        -- Bumped by triggers on any catalog change (from this process or another, e.g. the CLI while
        -- the server runs), so a cached search index knows when to rebuild.
        CREATE TABLE catalog_state (
          id      INTEGER PRIMARY KEY CHECK (id = 1),
          version INTEGER NOT NULL
        );
        INSERT INTO catalog_state (id, version) VALUES (1, 0);
        CREATE TRIGGER catalog_products_ins AFTER INSERT ON catalog_products
          BEGIN UPDATE catalog_state SET version = version + 1 WHERE id = 1; END;
        CREATE TRIGGER catalog_products_upd AFTER UPDATE ON catalog_products
          BEGIN UPDATE catalog_state SET version = version + 1 WHERE id = 1; END;
        CREATE TRIGGER catalog_products_del AFTER DELETE ON catalog_products
          BEGIN UPDATE catalog_state SET version = version + 1 WHERE id = 1; END;
        CREATE TRIGGER catalog_embeddings_ins AFTER INSERT ON catalog_embeddings
          BEGIN UPDATE catalog_state SET version = version + 1 WHERE id = 1; END;
        CREATE TRIGGER catalog_embeddings_upd AFTER UPDATE ON catalog_embeddings
          BEGIN UPDATE catalog_state SET version = version + 1 WHERE id = 1; END;
        CREATE TRIGGER catalog_embeddings_del AFTER DELETE ON catalog_embeddings
          BEGIN UPDATE catalog_state SET version = version + 1 WHERE id = 1; END;
        -- One row per recommendation call: what the KPIs are computed from.
        CREATE TABLE recommendation_log (
          id          INTEGER PRIMARY KEY,
          at          TEXT NOT NULL,
          run_id      TEXT NOT NULL,
          endpoint    TEXT NOT NULL,         -- top10_to_new | customer_input
          input_kind  TEXT NOT NULL,         -- upload | catalog | item | anchor | mixed
          inputs      INTEGER NOT NULL,
          k           INTEGER NOT NULL,
          model       TEXT,
          latency_ms  REAL NOT NULL,
          top1        REAL,                  -- mean over inputs of the best match's cosine
          matched     TEXT,                  -- JSON list of matched product ids (top-1 of each input first)
          status      TEXT NOT NULL CHECK (status IN ('ok', 'error')),
          error       TEXT
        );
        CREATE INDEX recommendation_log_at ON recommendation_log(at);
      `);
    },
  },
  {
    version: 4,
    name: 'evaluation: embedding centrality per (model, item) and its centre; evaluation, centrality and sweep results',
    up(db) {
      db.exec(`
        -- The best-seller proxy (EVALUATION.md): cosine of each item's image embedding to the centre
        -- of all of them. Recomputed by "kfashion centrality" (and by eval when missing or stale).
        CREATE TABLE item_centrality (
          model      TEXT NOT NULL REFERENCES embedding_models(model) ON DELETE CASCADE,
          item_id    TEXT NOT NULL REFERENCES items(id) ON DELETE CASCADE,
          centrality REAL NOT NULL,
          rank       INTEGER NOT NULL,      -- 1 = most central
          anchor     INTEGER NOT NULL,      -- 1 = in the top 10 % (the anchor set)
          run_id     TEXT NOT NULL,
          PRIMARY KEY (model, item_id)
        ) WITHOUT ROWID;
        CREATE INDEX item_centrality_rank ON item_centrality(model, rank);
        CREATE TABLE centrality_centres (
          model            TEXT PRIMARY KEY REFERENCES embedding_models(model) ON DELETE CASCADE,
          run_id           TEXT NOT NULL,
          computed_at      TEXT NOT NULL,
          embeddings_at    TEXT NOT NULL,   -- embedding_models.updated_at it was computed from
          items            INTEGER NOT NULL,
          anchor_fraction  REAL NOT NULL,
          anchor_threshold REAL NOT NULL,   -- lowest centrality in the anchor set
          vector           BLOB NOT NULL    -- the centre, dim little-endian float32, L2-normalised
        );
        -- One row per evaluation, centrality or temperature-study run; the full result is the file.
        CREATE TABLE evaluations (
          run_id     TEXT PRIMARY KEY,
          kind       TEXT NOT NULL CHECK (kind IN ('evaluation', 'centrality', 'temperature-study')),
          created_at TEXT NOT NULL,
          checkpoint TEXT,                  -- training run id of the checkpoint evaluated, if any
          protocol   TEXT,                  -- e.g. "in-batch, B=64"
          synthetic  INTEGER NOT NULL,
          file       TEXT NOT NULL,         -- results/… relative to the workspace
          summary    TEXT NOT NULL          -- JSON headline figures
        );
        CREATE INDEX evaluations_kind ON evaluations(kind, created_at);
      `);
    },
  },
  {
    version: 5,
    name: 'recommendation log retention: daily KPI aggregates of the calls pruned from the raw log',
    up(db) {
      db.exec(`
        -- Calls removed from recommendation_log by log retention, summed per UTC day. The KPI figures
        -- are computed over these plus the raw rows still kept, so pruning does not change them.
        CREATE TABLE recommendation_log_daily (
          day               TEXT NOT NULL,     -- YYYY-MM-DD (UTC) of the calls' "at"
          endpoint          TEXT NOT NULL,
          status            TEXT NOT NULL CHECK (status IN ('ok', 'error')),
          calls             INTEGER NOT NULL,
          inputs            INTEGER NOT NULL,  -- sum of the calls' inputs
          latency_centi_sum INTEGER NOT NULL,  -- sum of latency in 0.01 ms (the log's resolution)
          top1_sum          REAL NOT NULL,     -- sum of top1 over the calls that have one
          top1_calls        INTEGER NOT NULL,
          PRIMARY KEY (day, endpoint, status)
        ) WITHOUT ROWID;
        -- Latency histogram of the pruned successful calls at the log's 0.01 ms resolution: the
        -- latency percentiles stay exact after pruning.
        CREATE TABLE recommendation_latency_daily (
          day           TEXT NOT NULL,
          latency_centi INTEGER NOT NULL,      -- latency in 0.01 ms
          calls         INTEGER NOT NULL,
          PRIMARY KEY (day, latency_centi)
        ) WITHOUT ROWID;
      `);
    },
  },
  {
    version: 6,
    name: 'runs: interrupted status, sequence number, parent, replay source, study, tags, note, folder, process; evaluation checkpoint epoch',
    up(db) {
      // SQLite cannot change a CHECK constraint in place: the runs table is rebuilt. run_metrics
      // refers to it, so it is rebuilt first against the new table (dropping the old parent while a
      // child still points at it would cascade-delete every metric). Renaming a table rewrites the
      // foreign keys that name it (SQLite >= 3.26 without legacy_alter_table).
      db.exec(`
        CREATE TABLE runs_v5 (
          id          TEXT PRIMARY KEY,       -- e.g. train-20261124T031500Z-ab12
          seq         INTEGER NOT NULL UNIQUE,-- 1, 2, 3, ... in order of creation ("run 1")
          kind        TEXT NOT NULL,          -- train, sweep (a temperature-study run), tune, baseline
          status      TEXT NOT NULL
                      CHECK (status IN ('running', 'done', 'stopped', 'failed', 'interrupted')),
          config      TEXT NOT NULL,          -- JSON TrainConfig
          backend     TEXT,
          started_at  TEXT NOT NULL,
          finished_at TEXT,
          summary     TEXT,                   -- JSON
          parent_id   TEXT,                   -- the run whose best weights it started from (--init-from)
          replay_of   TEXT,                   -- the run whose config it repeats (--from-run, --config)
          study       TEXT,                   -- the sweep or study it belongs to
          tags        TEXT NOT NULL DEFAULT '[]',  -- JSON array of strings
          note        TEXT NOT NULL DEFAULT '',
          folder      TEXT,                   -- runs/<id>, relative to the workspace; NULL: no files
          pid         INTEGER,                -- the process that writes it while running
          host        TEXT,
          best_epoch  INTEGER,
          epochs_run  INTEGER,
          headline    TEXT                    -- JSON: best epoch's figures with their protocol
        );
        INSERT INTO runs_v5 (id, seq, kind, status, config, backend, started_at, finished_at, summary)
          SELECT id, ROW_NUMBER() OVER (ORDER BY started_at, id), kind, status, config, backend,
                 started_at, finished_at, summary
          FROM runs;
        CREATE TABLE run_metrics_v5 (
          run_id TEXT NOT NULL REFERENCES runs_v5(id) ON DELETE CASCADE,
          epoch  INTEGER NOT NULL,
          step   INTEGER NOT NULL,
          name   TEXT NOT NULL,
          value  REAL NOT NULL,
          PRIMARY KEY (run_id, epoch, step, name)
        ) WITHOUT ROWID;
        INSERT INTO run_metrics_v5 SELECT run_id, epoch, step, name, value FROM run_metrics;
        DROP TABLE run_metrics;
        DROP TABLE runs;
        ALTER TABLE runs_v5 RENAME TO runs;
        ALTER TABLE run_metrics_v5 RENAME TO run_metrics;
        CREATE INDEX runs_started ON runs(started_at);
        ALTER TABLE evaluations ADD COLUMN checkpoint_epoch INTEGER;
      `);
    },
  },
  {
    version: 7,
    name: 'tuning studies: studies, trials (a state machine), their parameters and per-epoch intermediate values',
    up(db) {
      db.exec(`
        -- IF NOT EXISTS: a database whose user_version was set back (a test simulating an older
        -- schema) already has these tables.
        -- A study is the single source of truth for its trials (as Optuna's storage): any process can
        -- resume it from these rows alone.
        CREATE TABLE IF NOT EXISTS studies (
          id         INTEGER PRIMARY KEY,
          name       TEXT NOT NULL UNIQUE,
          created_at TEXT NOT NULL,
          updated_at TEXT NOT NULL,
          status     TEXT NOT NULL CHECK (status IN ('running', 'done', 'stopped')),
          metric     TEXT NOT NULL,          -- top5, top1, mrr, recall10 (always maximised)
          protocol   TEXT NOT NULL,          -- e.g. gallery
          settings   TEXT NOT NULL           -- JSON: space, sampler, pruner, trials, seed, timeout, preset, base config
        );
        CREATE TABLE IF NOT EXISTS study_trials (
          id          INTEGER PRIMARY KEY,
          study_id    INTEGER NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
          number      INTEGER NOT NULL,       -- 0, 1, 2, ... within the study
          state       TEXT NOT NULL CHECK (state IN ('WAITING', 'RUNNING', 'COMPLETE', 'PRUNED', 'FAIL')),
          value       REAL,                   -- the objective of a COMPLETE trial
          run_id      TEXT,                   -- the training run of this trial
          error       TEXT,                   -- why a FAIL trial failed
          interrupted INTEGER NOT NULL DEFAULT 0, -- FAIL because its process ended mid-trial (retried)
          pid         INTEGER,                -- the process running it
          started_at  TEXT,
          finished_at TEXT,
          attrs       TEXT NOT NULL DEFAULT '{}', -- JSON: secondary figures, ceiling, stage, seed
          UNIQUE (study_id, number)
        );
        CREATE TABLE IF NOT EXISTS study_trial_params (
          trial_id     INTEGER NOT NULL REFERENCES study_trials(id) ON DELETE CASCADE,
          name         TEXT NOT NULL,
          value        TEXT NOT NULL,         -- JSON
          distribution TEXT NOT NULL,         -- JSON (null for a fixed or enqueued value)
          PRIMARY KEY (trial_id, name)
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS study_trial_values (
          trial_id INTEGER NOT NULL REFERENCES study_trials(id) ON DELETE CASCADE,
          step     INTEGER NOT NULL,          -- epoch
          value    REAL NOT NULL,
          PRIMARY KEY (trial_id, step)
        ) WITHOUT ROWID;
      `);
    },
  },
  {
    version: 8,
    name: 'augmented image views: one vector per (model, item, view recipe, view) with the view parameters',
    up(db) {
      db.exec(`
        -- A view recipe: the augmentation settings and seed the views were drawn with ("kfashion embed
        -- --views N"); its key is what training asks for, so views of another recipe are never mixed in.
        CREATE TABLE view_recipes (
          key        TEXT PRIMARY KEY,
          settings   TEXT NOT NULL,           -- JSON view settings
          seed       INTEGER NOT NULL,
          created_at TEXT NOT NULL
        );
        -- Vectors of augmented views of a garment crop. crop_key is the crop's key (plus the CutMix
        -- partner's) the view was rendered from: a changed crop redoes just its views (resume = cache).
        CREATE TABLE image_view_embeddings (
          model      TEXT NOT NULL REFERENCES embedding_models(model) ON DELETE CASCADE,
          item_id    TEXT NOT NULL REFERENCES items(id) ON DELETE CASCADE,
          recipe     TEXT NOT NULL REFERENCES view_recipes(key) ON DELETE CASCADE,
          view       INTEGER NOT NULL,        -- 1..N (0 is the original, kept in image_embeddings)
          crop_key   TEXT NOT NULL,
          path       TEXT NOT NULL,           -- the rendered view (PNG), relative to the workspace
          params     TEXT NOT NULL,           -- JSON ViewParams
          vector     BLOB NOT NULL,           -- dim little-endian float32, L2-normalised
          PRIMARY KEY (model, item_id, recipe, view)
        ) WITHOUT ROWID;
      `);
    },
  },
];
