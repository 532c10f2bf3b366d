/** @module core/errors
 * The one error class and the table of stable SP_ERR_* codes (exit code, HTTP status, hint).
 * docs/errors.md mirrors this table; test/errors-doc.test.ts keeps them in step. */

export interface ErrorSpec {
  /** Process exit code: 2 = usage, 1 = failure. */
  exit: 1 | 2;
  /** HTTP status when the error reaches the API. */
  http: number;
  /** What the code means (docs/errors.md). */
  meaning: string;
  /** Default hint when the thrower gives none. */
  hint: string;
}

export const ERROR_CODES = {
  SP_ERR_USAGE: { exit: 2, http: 400, meaning: 'The command line is invalid (unknown option, missing argument).', hint: 'Run the command with --help to see its options and an example.' },
  SP_ERR_CONFIG_INVALID: { exit: 2, http: 500, meaning: 'stockpipe.config.json, a STOCKPIPE_* variable or a flag has an invalid value.', hint: 'Fix or remove the named setting to use its default.' },
  SP_ERR_SOURCE_UNKNOWN: { exit: 2, http: 400, meaning: 'The --source value names no known data source.', hint: 'Use one of: synthetic, dir:PATH, zip:PATH, kaggle, yahoo.' },
  SP_ERR_SOURCE_NOT_FOUND: { exit: 1, http: 404, meaning: 'The folder or archive given to a source does not exist or is not readable; or, at ingest, a file the fetch listed is gone or shorter than it was then (the source changed: fetch again).', hint: 'Check the path; it must hold stocks/ and/or etfs/ with <SYMBOL>.csv files.' },
  SP_ERR_SOURCE_LAYOUT: { exit: 1, http: 422, meaning: 'The source has no CSV files in the Kaggle layout (stocks/*.csv, etfs/*.csv).', hint: 'Point the source at the folder (or zip) that contains stocks/ and etfs/.' },
  SP_ERR_SOURCE_MISMATCH: { exit: 2, http: 409, meaning: 'The source asked for is not the one the workspace remembers (<workspace>/source.json), and switching was not asked for; nothing was fetched or ingested.', hint: 'Switch on purpose with `stockpipe run --source S` or `stockpipe fetch --source S --switch-source`, or use another --workspace.' },
  SP_ERR_NO_RAW_DATA: { exit: 1, http: 409, meaning: 'ingest found no fetched source in the workspace.', hint: 'Run `stockpipe fetch` first (the default source is synthetic).' },
  SP_ERR_WORKSPACE_UNWRITABLE: { exit: 1, http: 500, meaning: 'The workspace folder cannot be created or written.', hint: 'Pass --workspace with a folder you can write, or fix its permissions.' },
  SP_ERR_WORKSPACE_NOT_FOUND: { exit: 2, http: 404, meaning: 'A command that reads or acts on a workspace\'s data (ingest, features, validate, export, vacuum, train, tune, evaluate, forecast, monitor, models promote, models tag) was pointed at a folder that does not exist, or at one that holds other files and none of a workspace\'s (a mistyped --workspace, STOCKPIPE_WORKSPACE or config "workspace"; `-w ~`); nothing was created.', hint: 'Check --workspace (or STOCKPIPE_WORKSPACE, the config file\'s "workspace"); `stockpipe fetch` or `stockpipe run train` starts a new workspace.' },
  SP_ERR_INPUT_MALFORMED: { exit: 1, http: 422, meaning: 'A CSV line is malformed and --strict was given.', hint: 'Fix or remove the named line, or run without --strict to drop and report it.' },
  SP_ERR_INPUT_TOO_LARGE: { exit: 1, http: 422, meaning: 'A bars file or the metadata file of the source (or a zip entry, by the size it inflates to) is over 2 GiB: ingest reads each file whole, and one symbol\'s daily bars are a few MB, so it is no such file (or a zip bomb). Nothing is written.', hint: 'Remove the named file (or zip entry) from the source, or split it (one symbol\'s daily bars are a few MB), then run `stockpipe fetch` and `stockpipe ingest` again.' },
  SP_ERR_INPUT_HEADER: { exit: 1, http: 422, meaning: 'A CSV file lacks a required column in its header.', hint: 'The header must name Date, Open, High, Low, Close, Adj Close and Volume.' },
  SP_ERR_METADATA: { exit: 1, http: 422, meaning: 'symbols_valid_meta.csv lacks the Symbol or Security Name column.', hint: 'Use the dataset\'s metadata file, or remove it (Security Name is then null).' },
  SP_ERR_PRICES_MISSING: { exit: 1, http: 409, meaning: 'The prices table has no snapshot yet (or none as of the --as-of asked for), or its files are missing from store/ (deleted by hand) or no readable Parquet file (damaged outside stockpipe: the message names it).', hint: 'Run `stockpipe ingest` first.' },
  SP_ERR_FEATURES_MISSING: { exit: 1, http: 409, meaning: 'The features table has no snapshot yet (or none as of the --as-of asked for), or a file of it is missing from store/ (deleted by hand) or no readable Parquet file (damaged outside stockpipe: the message names it).', hint: 'Run `stockpipe features` first.' },
  SP_ERR_SNAPSHOT_NOT_FOUND: { exit: 2, http: 404, meaning: 'The --as-of snapshot does not exist, or vacuum deleted a file it needs.', hint: 'List the snapshots with `stockpipe snapshots`.' },
  SP_ERR_STORE_CONFLICT: { exit: 1, http: 409, meaning: 'Another stockpipe process committed a snapshot while this one was writing: of the same table, or of the other one (snapshot ids are one sequence for the store, and a write stamps its rows with the id it commits as); nothing was committed.', hint: 'Run the command again (pipelines take the workspace run lock to avoid this).' },
  SP_ERR_PRICES_SCHEMA: { exit: 1, http: 422, meaning: 'The prices table lacks a required column or has the wrong type.', hint: 'Rebuild it with `stockpipe ingest`.' },
  SP_ERR_ZIP_CORRUPT: { exit: 1, http: 422, meaning: 'The zip archive is corrupt, truncated, holds an unsafe path, or holds two entries of one name.', hint: 'Download the archive again; entries must not contain ../ or absolute paths.' },
  SP_ERR_KAGGLE_AUTH: { exit: 1, http: 401, meaning: 'Kaggle refused the credentials (401).', hint: 'Create a new API token on kaggle.com (Settings → API) and set KAGGLE_API_TOKEN or ~/.kaggle/kaggle.json.' },
  SP_ERR_KAGGLE_FORBIDDEN: { exit: 1, http: 403, meaning: 'Kaggle answered 403: the dataset\'s rules are not accepted for this account.', hint: 'Open the dataset page on kaggle.com while logged in and accept its rules, then retry.' },
  SP_ERR_KAGGLE_NOT_FOUND: { exit: 1, http: 404, meaning: 'Kaggle has no such dataset or version (404).', hint: 'Check the owner/slug (default jacksoncrow/stock-market-dataset).' },
  SP_ERR_KAGGLE_UNAVAILABLE: { exit: 1, http: 503, meaning: 'Kaggle or its storage kept failing after all retries.', hint: 'Try again later; a partial download is kept and resumed.' },
  SP_ERR_KAGGLE_CHECKSUM: { exit: 1, http: 502, meaning: 'The downloaded archive does not match its size or md5, or is not a zip.', hint: 'Run the fetch again; the bad file was removed.' },
  SP_ERR_FEATURES_WINDOW: { exit: 2, http: 400, meaning: '--window (or features.window, STOCKPIPE_WINDOW) is not a whole number from 2 to 1000.', hint: 'Use a window such as 30 (the default).' },
  SP_ERR_FEATURES_INPUT: { exit: 1, http: 422, meaning: 'A prices row cannot be carried exactly into the features: its Volume is beyond 2^53 − 1 (the features compute in float64, as pandas\' rolling mean does; prices keeps int64 exactly). Nothing is written.', hint: 'Correct the named row in the source and ingest again; no real daily volume comes near 9 quadrillion shares.' },
  SP_ERR_FEATURES_STAGE: { exit: 1, http: 422, meaning: 'features --commit-stage: the plan file is unreadable or invalid, or a staged partition has no _manifest.json (it did not finish), does not match the plan (prices snapshot, lineage id, window, extended, buckets), repeats a bucket, or lists a file that is missing or of another size; nothing was committed.', hint: 'Run `stockpipe features --buckets … --stage DIR` again for the named stage (or plan and run every partition again), then commit again.' },
  SP_ERR_PARTITION_STAGE: { exit: 1, http: 422, meaning: 'ingest or validate --plan/--commit-stage (executor bullmq): a plan or commit file is unreadable or invalid, or a staged partition has no manifest (it did not finish), does not match the plan (source files, snapshot, lineage id, reference, buckets), repeats or misses a bucket, or lists a file that is missing or of another size; nothing was committed.', hint: 'Run the named partition again (`stockpipe ingest|validate --plan PLAN.json --buckets … --stage DIR`), or run the task again, then commit again.' },
  SP_ERR_TRAIN_DATA: { exit: 1, http: 422, meaning: 'The features table cannot train a model: missing, lacking a required column, or empty after filtering.', hint: 'Run `stockpipe features` first; check that the data has more than 30 rows per symbol and a non-null Volume.' },
  SP_ERR_REGISTRY: { exit: 1, http: 500, meaning: 'The registry store <workspace>/stockpipe.db is unreadable, corrupt, emptied (0 bytes beside a store of data), locked for too long, or newer than this stockpipe.', hint: 'Retry when the other stockpipe process finishes; if the file is corrupt, move it aside (a new empty registry is created) or restore a backup; if it is newer, upgrade stockpipe.' },
  SP_ERR_MODEL_NOT_FOUND: { exit: 1, http: 404, meaning: 'No registered model version has this id, and no alias has this name.', hint: 'Run `stockpipe models list` to see model ids and aliases (e.g. champion).' },
  SP_ERR_MODEL_MISSING: { exit: 1, http: 409, meaning: 'The model version is registered but its folder, model.json or metrics.json (what evaluate re-cuts its test slice by) is gone.', hint: 'Restore the named folder, or train again and promote the new model.' },
  SP_ERR_PROMOTE_REFUSED: { exit: 1, http: 409, meaning: 'The candidate is not better than the alias holder on its backtest (never the test slice), or the two cannot be compared there: no backtest (a random split), or not the metric asked for.', hint: 'Compare by a metric both backtests record (--metric), train both models under the same protocol, or pass --force to promote anyway (recorded as forced).' },
  SP_ERR_PROMOTE_KIND: { exit: 1, http: 409, meaning: 'The model is of a kind the alias never takes: champion takes volume models (gbdt, rf, polyreg, naive), forecast_champion forecast models, any other alias the kind family of the first model it pointed at. --force does not override this.', hint: 'Promote a model of the kind the alias takes (see `stockpipe models list`), or use another alias.' },
  SP_ERR_TAG_INVALID: { exit: 2, http: 400, meaning: 'A model tag (`models tag ID key=value`) or a tag filter (GET /models?tag=) is malformed: no "=", a key that is not a tag key, an empty or too long value, or a control character.', hint: 'Write key=value, e.g. stage=staging: the key starts with a letter (letters, digits, _ . - / :, up to 64), the value has 1 to 256 characters.' },
  SP_ERR_BAD_REQUEST: { exit: 2, http: 400, meaning: 'An API request has a missing, repeated, empty, non-numeric, non-finite or out-of-range parameter, or an invalid body.', hint: 'See /docs for the parameters; e.g. GET /predict?vol_moving_avg=12345&adj_close_rolling_med=25.' },
  SP_ERR_NOT_FOUND: { exit: 1, http: 404, meaning: 'No API route at this path.', hint: 'See /docs (or /openapi.json) for the routes.' },
  SP_ERR_METHOD_NOT_ALLOWED: { exit: 1, http: 405, meaning: 'The route exists but not for this HTTP method.', hint: 'The Allow header lists the methods the route accepts.' },
  SP_ERR_PAYLOAD_TOO_LARGE: { exit: 1, http: 413, meaning: 'The request body or the batch is larger than the server accepts.', hint: 'Send at most 10,000 instances per POST /predict.' },
  SP_ERR_NO_MODEL: { exit: 1, http: 503, meaning: 'No champion model is registered or loadable yet.', hint: 'Run `stockpipe train` (the first volume model becomes champion) or `stockpipe models promote <id>`, then retry.' },
  SP_ERR_MODEL_FORMAT: { exit: 1, http: 422, meaning: 'A model.json is not valid: unknown format or version, a missing or malformed field, a child index out of range, or a non-finite number; or a file of the model folder is no regular file, or its metrics.json is not JSON or holds no valid split.', hint: 'Check the named field against docs/model-format.md, or train the model again.' },
  SP_ERR_NO_INTERVALS: { exit: 1, http: 409, meaning: 'The model being served has no prediction intervals: it was trained before they existed, or its intervals.json is missing or invalid (the server log says which).', hint: 'Use GET /predict for the point prediction, or train again (`stockpipe train`; intervals.json is written with every volume model) and promote the new model.' },
  SP_ERR_COVERAGE_UNATTAINABLE: { exit: 1, http: 422, meaning: 'The requested interval coverage needs more calibration residuals than the model has: with n residuals, split-conformal intervals are finite only up to coverage n/(n+1).', hint: 'Ask for a lower coverage (e.g. 0.9); the message gives the largest one this model supports.' },
  SP_ERR_PREDICTION_OUT_OF_RANGE: { exit: 1, http: 422, meaning: "The served model's prediction (or an interval bound) for the request's inputs is no volume the API can answer exactly: beyond 2^53 − 1 shares, or not a number. The inputs lie far outside the data the model was trained on (a polyreg model's quadratic extrapolates fastest).", hint: 'Check the inputs (vol_moving_avg is a share count, adj_close_rolling_med a price); for an interval, ask for a lower coverage. A gbdt champion extrapolates far less than a polyreg one.' },
  SP_ERR_TRAIN_PARAMS: { exit: 2, http: 400, meaning: 'A model training parameter is unknown or out of range (e.g. num_leaves < 2, learning_rate <= 0).', hint: 'Fix or remove the named parameter to use its default (docs/model-format.md lists them).' },
  SP_ERR_PIPELINE_INVALID: { exit: 2, http: 400, meaning: 'A pipeline definition is invalid: a task defined twice or depending on an unknown task.', hint: 'Fix the pipeline definition (a bug in a built-in pipeline).' },
  SP_ERR_PIPELINE_CYCLE: { exit: 2, http: 400, meaning: 'The task graph has a cycle, so no task order exists.', hint: 'Remove one of the dependencies on the cycle named in the message.' },
  SP_ERR_PIPELINE_UNKNOWN: { exit: 2, http: 404, meaning: 'No pipeline or task has this name (stockpipe run NAME, --from, --to, --force-task).', hint: 'Run `stockpipe run --help` for the pipelines and `stockpipe run NAME --dry-run` for their tasks.' },
  SP_ERR_PIPELINE_LOCKED: { exit: 1, http: 409, meaning: 'Another pipeline run is in progress on this workspace.', hint: 'Wait for it to finish (or pass --wait), or stop it; a lock left by a killed run is taken over automatically.' },
  SP_ERR_PIPELINE_INPUT: { exit: 1, http: 422, meaning: 'A task input file is missing or unreadable, so its cache key cannot be computed.', hint: 'Run the upstream task that writes it (e.g. without --from), or check the path and its permissions.' },
  SP_ERR_TASK_TIMEOUT: { exit: 1, http: 504, meaning: 'A pipeline task ran longer than its timeout and was stopped.', hint: 'Raise pipeline.tasks.<name>.timeout_s in the config, or find out why the task is slow in its log (`stockpipe runs logs`).' },
  SP_ERR_TASK_FAILED: { exit: 1, http: 500, meaning: 'A pipeline task failed without a stockpipe error code (it crashed or was killed).', hint: 'Read the task log (`stockpipe runs logs RUN_ID TASK`), fix the cause, then `stockpipe run --resume`.' },
  SP_ERR_REDIS_UNREACHABLE: { exit: 1, http: 503, meaning: 'The executor bullmq (or `stockpipe worker`) cannot reach Redis at STOCKPIPE_REDIS_URL, or lost it for longer than pipeline.redis_timeout_s.', hint: 'Start Redis or fix STOCKPIPE_REDIS_URL (redis://host:port/db or unix:///path/redis.sock); the run resumes with `stockpipe run --resume`.' },
  SP_ERR_REDIS_CONFIG: { exit: 1, http: 500, meaning: 'Redis is configured so that BullMQ may lose jobs: its maxmemory-policy is not noeviction.', hint: 'Set `maxmemory-policy noeviction` in redis.conf (or CONFIG SET maxmemory-policy noeviction); docs/scale-out.md.' },
  SP_ERR_QUEUE_JOB_LOST: { exit: 1, http: 500, meaning: "A queued task's job vanished from Redis before it finished (Redis restarted without its AOF, or the job was removed by hand); nothing of it was committed by the runner.", hint: 'Turn on appendonly in Redis, then `stockpipe run --resume` (finished tasks and partitions are kept).' },
  SP_ERR_JOB_SUPERSEDED: { exit: 1, http: 409, meaning: "A queued task's execution stalled past its lock and its job was handed to another worker: this execution stopped before committing anything more.", hint: 'Nothing to do: the other execution commits the result. Check the stalled worker (load, frozen VM, network).' },
  SP_ERR_WORKER_BUILD: { exit: 1, http: 500, meaning: 'A worker runs another build or version of stockpipe than the runner that queued the job (an update installed on one machine only): it runs nothing, since its commands could compute other results under the same cache keys.', hint: 'Install the same stockpipe (the same commit) on the runner and every worker, restart the workers, then `stockpipe run --resume`; `stockpipe worker` prints its build when it starts.' },
  SP_ERR_WORKSPACE_UNREACHABLE: { exit: 1, http: 500, meaning: "A worker cannot open the job's workspace: the shared file system path is not mounted at the same path on its machine (nothing there, or another workspace: its store lacks the run that queued the job); nothing was run.", hint: 'Mount the workspace at the same absolute path on every worker machine (docs/scale-out.md).' },
  SP_ERR_RUN_FAILED: { exit: 1, http: 500, meaning: 'A pipeline run ended with a failed task; its downstream tasks were skipped.', hint: 'See the failed task\'s error and log (`stockpipe runs show RUN_ID`), fix it, then `stockpipe run --resume`.' },
  SP_ERR_NOT_TRADING_DAY: { exit: 2, http: 400, meaning: 'A logical date (`run --date`, `backfill --from/--to`) is not an NYSE trading day, or a backfill range holds none.', hint: 'Use a trading day: the error names the previous and next ones (weekends and NYSE holidays are closed).' },
  SP_ERR_DATE_IN_FUTURE: { exit: 2, http: 400, meaning: "A logical date (`run --date`, `backfill --to`) is after today's date (New York): its data cannot be known yet.", hint: 'Use today or an earlier trading day; without --date the run uses all the data there is.' },
  SP_ERR_RUN_CANCELLED: { exit: 1, http: 499, meaning: 'The pipeline run was cancelled (Ctrl-C or SIGTERM); finished tasks are kept.', hint: 'Continue it with `stockpipe run --resume`.' },
  SP_ERR_RUN_NOT_FOUND: { exit: 1, http: 404, meaning: 'No run (pipeline or command run) has this id, the run has no such task or log, or there is no failed, cancelled or killed run to resume.', hint: 'List the runs with `stockpipe runs list` (`--kind all` for command runs; or GET /runs).' },
  SP_ERR_LINEAGE_NOT_FOUND: { exit: 1, http: 404, meaning: '`stockpipe lineage` (or GET /lineage/…): no model version or alias, run, or store snapshot has the id asked for.', hint: 'List them with `stockpipe models list`, `stockpipe runs list --kind all` or `stockpipe snapshots`.' },
  SP_ERR_SCHEDULE_INVALID: { exit: 2, http: 400, meaning: 'The scheduler has nothing it can run: the config has no schedules (a schedule with an invalid cron expression, time zone or pipeline is refused when the config is read, as SP_ERR_CONFIG_INVALID naming schedules.N.cron or .timezone).', hint: 'Add a schedule such as {"pipeline": "daily", "cron": "30 18 * * 1-5"} to the config\'s "schedules".' },
  SP_ERR_YAHOO_NOT_FOUND: { exit: 1, http: 404, meaning: 'Yahoo answered 404 for a symbol in --symbols: it does not know that ticker. The whole fetch fails and nothing is stored.', hint: 'Fix or remove the named ticker in --symbols (Yahoo spells share classes with -, e.g. BRK-B).' },
  SP_ERR_YAHOO_MALFORMED: { exit: 1, http: 502, meaning: 'Yahoo answered a symbol with something that is not the chart JSON (invalid JSON, or arrays of different lengths). Nothing is stored.', hint: 'Retry later; if it persists, report the named URL (the API may have changed).' },
  SP_ERR_YAHOO_UNAVAILABLE: { exit: 1, http: 503, meaning: 'Yahoo kept failing (429, 5xx, network) after all retries, or refused the request. Nothing is stored.', hint: 'Try again later, or lower fetch.yahoo_requests_per_second.' },
  SP_ERR_SYMBOL_NOT_FOUND: { exit: 1, http: 404, meaning: 'The symbol is not in the features (or prices) table.', hint: 'GET /symbols?q=… lists the symbols; run `stockpipe features` after ingesting new data.' },
  SP_ERR_VALIDATE_INPUT: { exit: 1, http: 409, meaning: 'validate: the table to validate (prices or features) has no snapshot (or none as of --as-of), or its files are not readable Parquet.', hint: 'Run `stockpipe ingest` (and `stockpipe features` for --table features) first.' },
  SP_ERR_REFERENCE_INVALID: { exit: 1, http: 422, meaning: 'validate: the saved reference (validation/reference*.json or --reference FILE) is unreadable, not JSON, not a stockpipe reference, or describes another table.', hint: 'Run `stockpipe validate --set-reference` to infer a new reference version from the current table, or pass a valid --reference file.' },
  SP_ERR_VALIDATION_FAILED: { exit: 1, http: 422, meaning: 'validate found anomalies at or above validate.fail_on (default: errors); the report was written first.', hint: 'Read the named report (or `stockpipe validate --json`) and fix the data, or accept the new data with `stockpipe validate --set-reference`.' },
  SP_ERR_FORECAST_NOT_FOUND: { exit: 1, http: 404, meaning: 'The store holds no day-ahead forecast for this symbol.', hint: 'Run `stockpipe forecast` (after `features --extended` and `train --task forecast --promote-if-better`); symbols are case-sensitive, e.g. AAPL.' },
  SP_ERR_DISK_FULL: { exit: 1, http: 507, meaning: 'The file system holding an output (or DuckDB\'s spill folder) is full or over quota (ENOSPC, EDQUOT); the previous output is kept.', hint: 'Free the space named in the message on that file system, or pass --workspace on a larger disk, then run again.' },
  SP_ERR_OUT_OF_MEMORY: { exit: 1, http: 503, meaning: 'DuckDB (or the system) could not allocate memory within the memory limit (--memory-limit, STOCKPIPE_MEMORY_LIMIT, memory_limit).', hint: 'Raise --memory-limit (e.g. --memory-limit 2GB) or lower --threads.' },
  SP_ERR_TOO_MANY_FILES: { exit: 1, http: 503, meaning: 'The process hit the open-file limit (EMFILE, ENFILE).', hint: 'Raise the limit (`ulimit -n 65536`) or lower --threads, then run again.' },
  SP_ERR_UNAUTHORIZED: { exit: 1, http: 401, meaning: 'A mutating API route (any POST, e.g. promote) was called without the server\'s API token, or with a wrong one.', hint: 'Send the token as `Authorization: Bearer <token>` (the value of STOCKPIPE_API_TOKEN or serve.api_token where the server runs); in the dashboard, enter it in the API token field.' },
  SP_ERR_FORBIDDEN: { exit: 1, http: 403, meaning: 'A mutating API route was refused: the server listens beyond loopback without an API token, or the request came from another web origin.', hint: 'Set STOCKPIPE_API_TOKEN (or serve.api_token) before `stockpipe serve --host …`, or serve on 127.0.0.1; see docs/security.md.' },
  SP_ERR_URI_TOO_LONG: { exit: 1, http: 414, meaning: 'A path segment, the query string or the request headers are longer than the server accepts.', hint: 'Path parameters are at most 100 characters and the request line and headers at most 16 KiB; see /docs for the parameters\' limits.' },
  SP_ERR_PORT_IN_USE: { exit: 1, http: 500, meaning: '`stockpipe serve` could not listen: another process already uses host:port.', hint: 'Pick another port with --port (0 = any free port), or stop the other process (e.g. `ss -ltnp` shows it).' },
  SP_ERR_LISTEN_DENIED: { exit: 1, http: 500, meaning: '`stockpipe serve` is not allowed to listen on host:port (a port below 1024 needs privileges).', hint: 'Use a port of 1024 or more with --port (e.g. 8000) and put a reverse proxy on the privileged port.' },
  SP_ERR_SERVE_WORKERS_FAILED: { exit: 1, http: 500, meaning: '`stockpipe serve --workers N`: a worker exited while starting without a stockpipe error (a crash, a kill, out of memory), or workers kept exiting after the start (more than 10 restarts within 60 s); the primary stopped the other workers and exited.', hint: 'Read the workers\' log lines on stderr (run with --debug for more); `stockpipe serve` without --workers shows the same failure in one process.' },
  SP_ERR_STUDY_NOT_FOUND: { exit: 1, http: 404, meaning: 'No tuning study has this id or name (`tune --resume`, `train --params-from`, `studies ID`, GET /studies/:id).', hint: 'List the studies with `stockpipe studies` (or GET /studies).' },
  SP_ERR_STUDY_MISMATCH: { exit: 2, http: 409, meaning: '`tune --resume` was given an option that differs from the study\'s (task, trials, folds, metric, seed, max trees), or the study is of another task, or the features data is not the data the study was tuned on (another snapshot or test cut).', hint: 'Drop the conflicting option to continue the study as it was created, or start a new study without --resume.' },
  SP_ERR_STUDY_INCOMPLETE: { exit: 1, http: 409, meaning: '`train --params-from` named a study with no complete evaluation yet (each trial not started, running or failed). A study stopped early still gives its best complete evaluation so far, as Optuna\'s best_trial does.', hint: 'Continue the study with `stockpipe tune --resume STUDY`, then train from it.' },
  SP_ERR_STUDY_FAILED: { exit: 1, http: 422, meaning: 'Every evaluation of the tuning study failed, so it chose no configuration; the study is marked failed. The message gives the first error.', hint: 'Fix what the error names (e.g. fewer --folds, another --test-from, more history), then start a new study; `stockpipe studies STUDY` lists each trial\'s error.' },
  SP_ERR_STUDY_BUSY: { exit: 1, http: 409, meaning: 'Another tune session is running this study (a second `tune --resume`, or a resume while the study runs): its trials would run twice.', hint: 'Wait for it to end, or stop it; a session that was killed releases the study by itself.' },
  SP_ERR_TUNE_INTERRUPTED: { exit: 1, http: 499, meaning: 'The tuning study was stopped by Ctrl-C or SIGTERM; its running trials were marked failed (interrupted), its complete trials are kept.', hint: 'Continue it with `stockpipe tune --resume STUDY`: complete trials are not run again.' },
  SP_ERR_RUN_NOT_RESUMABLE: { exit: 1, http: 409, meaning: 'A resume (`run --resume RUN_ID`, POST /runs/:id/resume) named a run that finished, or one still running under a live runner: there is nothing to continue.', hint: 'Start a new run (finished tasks are cached), or cancel the running one first and resume it then.' },
  SP_ERR_RUN_NOT_RUNNING: { exit: 1, http: 409, meaning: 'A cancel (`stockpipe runs cancel`, POST /runs/:id/cancel) named a run that is not running: it ended, or its runner is gone (abandoned), or its runner is on another host.', hint: 'Nothing to stop; resume an abandoned run with `stockpipe run --resume RUN_ID`, and cancel a run on another host there.' },
  SP_ERR_LAUNCH_FAILED: { exit: 1, http: 500, meaning: 'The server could not start a pipeline run or backfill as a CLI child process: the child exited without a result document, or had neither started the run nor ended within the wait.', hint: 'Read the child\'s output file named in the message (under <workspace>/pipeline/launches/), or run the same `stockpipe` command in a terminal.' },
  SP_ERR_INTERNAL: { exit: 1, http: 500, meaning: 'An unexpected internal error (a bug).', hint: 'Run again with --debug and report the stack trace.' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The only error class: a stable code, a one-line message, a hint. */
export class StockpipeError extends Error {
  readonly code: ErrorCode;
  readonly hint: string;
  constructor(code: ErrorCode, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StockpipeError';
    this.code = code;
    this.hint = options.hint ?? ERROR_CODES[code].hint;
  }
  get exitCode(): 1 | 2 {
    return ERROR_CODES[this.code].exit;
  }
  get httpStatus(): number {
    return ERROR_CODES[this.code].http;
  }
  toJSON(): { code: ErrorCode; message: string; hint: string } {
    return { code: this.code, message: this.message, hint: this.hint };
  }
}

/** The longest piece of an input (a request's value, an option, a tag) quoted back in a message. */
export const MAX_ECHO = 100;

/** `text`, cut to `max` characters with its full length when longer: a message never echoes a huge input. */
export function clip(text: string, max = MAX_ECHO): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} characters)`;
}

/**
 * `v` with every string inside it mapped by `f` (and object keys too with `keys`): arrays and plain
 * objects are copied, anything else (a number, a Date) is kept. For what an error or an answer may
 * echo: clipped inputs, hidden paths and credentials.
 */
export function mapStringsDeep(v: unknown, f: (s: string) => string, keys = false): unknown {
  if (typeof v === 'string') return f(v);
  if (Array.isArray(v)) return v.map((x) => mapStringsDeep(x, f, keys));
  if (v !== null && typeof v === 'object') {
    const proto = Object.getPrototypeOf(v) as unknown;
    if (proto !== Object.prototype && proto !== null) return v;
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [keys ? f(k) : k, mapStringsDeep(x, f, keys)]));
  }
  return v;
}

/** Wraps anything thrown into a StockpipeError (unknown errors become SP_ERR_INTERNAL). */
export function toStockpipeError(err: unknown): StockpipeError {
  if (err instanceof StockpipeError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new StockpipeError('SP_ERR_INTERNAL', message, { cause: err });
}
