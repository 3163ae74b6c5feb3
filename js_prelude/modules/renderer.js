// require('renderer'): { Job } (modules.md section 24). A Job collects the inputs, templates,
// outputs and targets of a job for the Cortex Renderer service, checking each as it is added
// (the messages are the platform's). The service itself is not part of this host: start(),
// status(), cancel() and getVersion() reach cortex_runtime/modules/renderer.py, which answers
// with a kNotImplemented fault naming the method.
//
// Output options follow the platform's source: csv allows columnDelimiter (, ; |) and
// lineDelimiter (\n \r \n\r); html allows none; pdf allows the Prince XML options below.

const host = require("renderer.native");

const invalid = function (reason) {
  return Fault.create("cortex.invalidArgument.unspecified", { reason: reason });
};

const isObject = function (value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
};

const requireName = function (name, what) {
  if (typeof name !== "string" || !name.trim()) throw invalid(what + " name must be a non-empty String.");
  return name;
};

// ---- output options --------------------------------------------------------------------------

const CSV_COLUMN_DELIMITERS = [",", ";", "|"];
const CSV_LINE_DELIMITERS = ["\n", "\r", "\n\r"];
const PDF_INPUTS = ["auto", "xml", "html"];
const PDF_MEDIA = ["print", "screen"];
const PDF_PAGE_SIZES = [
  "A0", "A1", "A2", "A3", "A4", "A5", "A6", "A7", "A8", "A9", "A10",
  "B0", "B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B9", "B10",
  "C0", "C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8", "C9", "C10",
  "letter", "legal", "ledger", "tabloid", "executive", "statement", "folio", "quarto",
];
const PDF_PROFILES = [
  "PDF/A-1a", "PDF/A-1b", "PDF/A-3a", "PDF/A-3b", "PDF/X-1a:2001", "PDF/X-1a:2003",
  "PDF/X-3:2002", "PDF/X-3:2003", "PDF/X-4", "PDF/UA-1",
];
const PDF_KEY_BITS = [40, 128];
// Flags: the only value is true (they switch something on).
const PDF_FLAGS = [
  "no-default-style", "no-author-style", "no-embed-fonts", "no-subset-fonts", "no-artificial-fonts",
  "no-compress", "tagged-pdf", "encrypt", "disallow-print", "disallow-copy", "disallow-annotate",
  "disallow-modify", "force-identity-encoding", "no-xinclude",
];
// Short strings: at most 29 characters of letters, digits, _ . and -.
const PDF_STRINGS = ["pdf-title", "pdf-subject", "pdf-author", "pdf-keywords", "pdf-creator", "user-password", "owner-password"];
const PDF_STRING = /^[\w.-]{1,29}$/;
const PDF_MARGIN = /^\d+(\.\d+)?(mm|cm|in|pt|px|pc)$/;

const checkPdfOption = function (key, value) {
  if (key === "input") {
    if (PDF_INPUTS.indexOf(value) < 0) throw invalid("The Prince XML option input must be one of " + PDF_INPUTS.join(", ") + ".");
  } else if (key === "media") {
    if (PDF_MEDIA.indexOf(value) < 0) throw invalid("The Prince XML option media must be one of " + PDF_MEDIA.join(", ") + ".");
  } else if (key === "page-size") {
    if (PDF_PAGE_SIZES.indexOf(value) < 0) throw invalid("The Prince XML option page-size must be one of " + PDF_PAGE_SIZES.join(", ") + ".");
  } else if (key === "page-margin") {
    if (typeof value !== "string" || !PDF_MARGIN.test(value)) throw invalid("The Prince XML option page-margin must be a length such as 10mm.");
  } else if (key === "pdf-profile") {
    if (PDF_PROFILES.indexOf(value) < 0) throw invalid("The Prince XML option pdf-profile must be one of " + PDF_PROFILES.join(", ") + ".");
  } else if (key === "key-bits") {
    if (PDF_KEY_BITS.indexOf(value) < 0) throw invalid("The Prince XML option key-bits must be 40 or 128.");
  } else if (PDF_FLAGS.indexOf(key) >= 0) {
    if (value !== true) throw invalid("The Prince XML option " + key + " requires the boolean argument true.");
  } else if (PDF_STRINGS.indexOf(key) >= 0) {
    if (typeof value !== "string" || !PDF_STRING.test(value)) {
      throw invalid("The Prince XML option " + key + " must be a String of at most 29 letters, digits, _ . or -.");
    }
  } else {
    throw invalid("The Prince XML option " + key + " is not supported.");
  }
};

const checkOutputOptions = function (type, options) {
  if (!isObject(options) || !Object.keys(options).length) throw invalid("Output options must be a non-empty object.");
  const keys = Object.keys(options);
  if (type === "csv") {
    for (const key of keys) {
      const value = options[key];
      if (key === "columnDelimiter") {
        if (CSV_COLUMN_DELIMITERS.indexOf(value) < 0) throw invalid("Column delimiter must be , ; or |");
      } else if (key === "lineDelimiter") {
        if (CSV_LINE_DELIMITERS.indexOf(value) < 0) throw invalid("Line delimiter must be \\n \\r or \\n\\r");
      } else {
        throw invalid(key + " is not a valid option for csv output.");
      }
    }
  } else if (type === "html") {
    throw invalid(keys[0] + " is not a valid option for html output.");
  } else if (type === "pdf") {
    for (const key of keys) checkPdfOption(key, options[key]);
  } else {
    throw invalid("Output type: " + type + ", does not support options.");
  }
};

// ---- inputs ----------------------------------------------------------------------------------

const CURSOR_CLASSES = ["QueryCursor", "AggregationCursor"];

const cursorInput = function (value) {
  const className = value && value.constructor ? value.constructor.name : "";
  if (value && typeof value.getOptions === "function" && CURSOR_CLASSES.indexOf(className) >= 0) {
    return { type: "cursor", options: value.getOptions() };
  }
  if (value && typeof value.getOptions === "function" && className === "BulkOperation") {
    const options = value.getOptions();
    for (const op of options.ops || []) {
      if (op.operation !== "cursor" && op.operation !== "readOne") {
        throw Fault.create("cortex.invalidArgument.readOperationsOnly", { reason: "A bulk operation input may only contain cursor and readOne operations." });
      }
    }
    return { type: "bulk", options: options };
  }
  throw invalid("the argument is not a cursor nor a bulk operation");
};

const checkCredentials = function (credentials) {
  if (!isObject(credentials) || (credentials.type !== "token" && credentials.type !== "signature")) {
    throw invalid("credentials type must be token or signature.");
  }
  return credentials;
};

const checkTargetOptions = function (options) {
  if (options === undefined || options === null) return {};
  if (!isObject(options)) throw invalid("Target options must be an object.");
  if (options.compress !== undefined) {
    const compress = options.compress;
    if (!isObject(compress) || typeof compress.filename !== "string" || !compress.filename) {
      throw invalid("compress requires a filename.");
    }
    if (compress.outputs !== undefined && !Array.isArray(compress.outputs)) throw invalid("compress outputs must be an Array.");
  }
  return options;
};

const listOf = function (value, what) {
  const list = Array.isArray(value) ? value : [value];
  for (const item of list) requireName(item, what);
  return list.slice();
};

// ---- the job ---------------------------------------------------------------------------------

class Job {
  constructor(apiKey, options = {}) {
    if (typeof apiKey !== "string" || !apiKey) throw invalid("Job requires an api key.");
    Object.defineProperty(this, "_job", {
      value: { apiKey: apiKey, options: isObject(options) ? options : {}, inputs: {}, templates: [], outputs: {}, targets: [], callback: null },
    });
  }

  addCursor(name, cursorOrBulk) {
    this._job.inputs[requireName(name, "Input")] = cursorInput(cursorOrBulk);
    return this;
  }

  addApiRequest(name, path, environment, credentials, options, requestOptions) {
    requireName(name, "Input");
    if (typeof path !== "string" || !path) throw invalid("path must be a non-empty String.");
    const request = Object.assign({ method: "GET" }, isObject(requestOptions) ? requestOptions : {});
    this._job.inputs[name] = {
      type: "api", path: path, environment: environment, credentials: checkCredentials(credentials),
      options: isObject(options) ? options : {}, request: request,
    };
    return this;
  }

  addObject(name, objOrArray) {
    this._job.inputs[requireName(name, "Input")] = { type: "object", data: objOrArray };
    return this;
  }

  // A template whose name is already taken is ignored (the platform's).
  addTemplate(name, content, isPartial = false, locale = "en_US") {
    requireName(name, "Template");
    if (typeof content !== "string") throw invalid("Template content must be a String.");
    if (this._job.templates.some(function (t) { return t.name === name; })) return this;
    this._job.templates.push({ name: name, content: content, partial: isPartial === true, locale: locale });
    return this;
  }

  addOutput(name, type, templates, options) {
    requireName(name, "Output");
    if (typeof type !== "string" || !type) throw invalid("Output type must be a non-empty String.");
    if (options !== undefined) checkOutputOptions(type, options);
    const output = { type: type, templates: listOf(templates, "Template") };
    if (options !== undefined) output.options = options;
    this._job.outputs[name] = output;
    return this;
  }

  addSftpTarget(outputs, credentials, options) {
    this._job.targets.push({ type: "sftp", outputs: listOf(outputs, "Output"), credentials: credentials, options: checkTargetOptions(options) });
    return this;
  }

  addFtpTarget(outputs, credentials, options) {
    this._job.targets.push({ type: "ftp", outputs: listOf(outputs, "Output"), credentials: credentials, options: checkTargetOptions(options) });
    return this;
  }

  // path is '<object>/<id>/<fileProp>'; facets maps facet names to outputs.
  addFileTarget(path, facets, options) {
    if (typeof path !== "string" || path.split("/").filter(Boolean).length < 3) {
      throw invalid("File target path must be <object>/<id>/<property>.");
    }
    const outputs = [];
    const given = isObject(facets) && isObject(facets.facets) ? facets.facets : isObject(facets) ? facets : {};
    for (const key of Object.keys(given)) outputs.push(given[key]);
    this._job.targets.push({ type: "file", path: path, facets: given, outputs: outputs, options: checkTargetOptions(options) });
    return this;
  }

  addCallback(path, environment, credentials, options, requestOptions) {
    if (typeof path !== "string" || !path) throw invalid("path must be a non-empty String.");
    this._job.callback = {
      path: path, environment: environment, credentials: checkCredentials(credentials),
      options: isObject(options) ? options : {}, request: Object.assign(isObject(requestOptions) ? requestOptions : {}, { method: "POST" }),
    };
    return this;
  }

  // The job as it would be sent to the service.
  toJSON() {
    const job = this._job;
    return { options: job.options, inputs: job.inputs, templates: job.templates, outputs: job.outputs, targets: job.targets, callback: job.callback };
  }

  start() {
    const job = this._job;
    const names = job.templates.map(function (t) { return t.name; });
    const outputNames = Object.keys(job.outputs);
    if (!outputNames.length) throw invalid("A job needs at least one output.");
    for (const name of outputNames) {
      for (const template of job.outputs[name].templates) {
        if (names.indexOf(template) < 0) throw invalid("Output " + name + " references an unknown template: " + template);
      }
    }
    for (const target of job.targets) {
      for (const output of target.outputs) {
        if (outputNames.indexOf(output) < 0) throw invalid("Target " + target.type + " references an unknown output: " + output);
      }
    }
    return host.start(this.toJSON());
  }

  status(jobId) {
    if (typeof jobId !== "string") throw invalid("jobId must be a String.");
    return host.status(jobId);
  }

  cancel(jobId) {
    if (typeof jobId !== "string") throw invalid("jobId must be a String.");
    return host.cancel(jobId);
  }

  getVersion() {
    return host.getVersion();
  }
}

module.exports = Object.freeze({ Job: Job });
