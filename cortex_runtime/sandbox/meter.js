// Op metering and limit hardening, applied to every compiled unit.
//
// Runs in the compiler's own context (never in a script's), with acorn loaded as
// `acorn`. The source is only edited by inserting or replacing text at AST
// positions, so line numbers stay where the author put them.
//
// Inserted code, all of it referring to bindings the prelude declares:
//   __cx_r   ops remaining; every function entry takes one
//   loops    count iterations in a block-local __cx_n, settled with __cx_r every
//            BATCH iterations (__cx_b) and when the loop is left (__cx_e): a local
//            counter is what keeps a tight loop's overhead near 1.5x
//   __cx_x() throws the ops fault (and keeps throwing: limits are terminal)
//   __cx_c(e) at the top of every catch: rethrows limit faults and script.exit
//   __cx_f() at the top of every finally: rethrows once the run is dead
//   __cx_l(e) when a loop is left by an exception: records a limit (a null one from a full heap is
//     the memory limit); the loop rethrows
"use strict";

var METER = "--__cx_r<0&&__cx_x();";
var METER_EXPR = "--__cx_r<0&&__cx_x(),";
var BATCH = 4096;
var LOOP_OPEN = "{let __cx_n=" + BATCH + ";try{";
var LOOP_CLOSE = "}catch(__cx_z){__cx_z===null&&(__cx_reserve=null);__cx_l(__cx_z);throw __cx_z}finally{__cx_e(__cx_n)}}";
var LOOP_METER = "if(!--__cx_n)__cx_n=__cx_b();";
var RESERVED = /^__cx/;

function children(node) {
  var out = [];
  for (var key in node) {
    if (key === "type" || key === "start" || key === "end") continue;
    var value = node[key];
    if (Array.isArray(value)) {
      for (var i = 0; i < value.length; i++) {
        if (value[i] && typeof value[i].type === "string") out.push(value[i]);
      }
    } else if (value && typeof value.type === "string") {
      out.push(value);
    }
  }
  return out;
}

function meterLoop(loop, outer, edits) {
  edits.push({ start: outer.start, end: outer.start, text: LOOP_OPEN });
  edits.push({ start: outer.end, end: outer.end, text: LOOP_CLOSE, close: true });
  var body = loop.body;
  if (body.type === "BlockStatement") {
    edits.push({ start: body.start + 1, end: body.start + 1, text: LOOP_METER });
  } else {
    edits.push({ start: body.start, end: body.start, text: "{" + LOOP_METER });
    edits.push({ start: body.end, end: body.end, text: "}", close: true });
  }
}

function isLoop(node) {
  return (
    node.type === "ForStatement" ||
    node.type === "ForInStatement" ||
    node.type === "ForOfStatement" ||
    node.type === "WhileStatement" ||
    node.type === "DoWhileStatement"
  );
}

// `outer` is the outermost label of a labelled loop: the counter block must enclose
// the labels, or `continue label` would no longer name a loop.
function visit(node, source, edits, errors, outer) {
  switch (node.type) {
    case "Identifier":
    case "PrivateIdentifier":
      if (RESERVED.test(node.name)) {
        errors.push({ pos: node.start, message: "The identifier " + node.name + " is reserved." });
      }
      break;
    case "FunctionDeclaration":
    case "FunctionExpression":
    case "ArrowFunctionExpression":
      if (node.body.type === "BlockStatement") {
        edits.push({ start: node.body.start + 1, end: node.body.start + 1, text: METER });
      } else {
        edits.push({ start: node.body.start, end: node.body.start, text: "(" + METER_EXPR });
        edits.push({ start: node.body.end, end: node.body.end, text: ")", close: true });
      }
      break;
    case "LabeledStatement":
      visit(node.body, source, edits, errors, outer || node);
      return;
    case "ForStatement":
    case "ForInStatement":
    case "ForOfStatement":
    case "WhileStatement":
    case "DoWhileStatement":
      meterLoop(node, outer || node, edits);
      break;
    case "CatchClause":
      var at = node.body.start + 1;
      if (!node.param) {
        edits.push({ start: node.body.start, end: node.body.start, text: "(__cx_e)" });
        edits.push({ start: at, end: at, text: "__cx_c(__cx_e);" });
      } else if (node.param.type === "Identifier") {
        edits.push({ start: at, end: at, text: "__cx_c(" + node.param.name + ");" });
      } else {
        var pattern = source.slice(node.param.start, node.param.end);
        if (/__cx/.test(pattern)) errors.push({ pos: node.param.start, message: "Identifiers starting with __cx are reserved." });
        edits.push({ start: node.param.start, end: node.param.end, text: "__cx_e" });
        edits.push({ start: at, end: at, text: "__cx_c(__cx_e);let " + pattern + "=__cx_e;" });
        // The pattern is re-emitted verbatim inside the body, so only the body is visited.
        visit(node.body, source, edits, errors);
        return;
      }
      break;
    case "TryStatement":
      if (node.finalizer) {
        if (!node.handler) {
          edits.push({ start: node.block.end, end: node.block.end, text: "catch(__cx_e){__cx_c(__cx_e);throw __cx_e}" });
        }
        edits.push({ start: node.finalizer.start + 1, end: node.finalizer.start + 1, text: "__cx_f();" });
      }
      break;
  }
  var kids = children(node);
  for (var i = 0; i < kids.length; i++) visit(kids[i], source, edits, errors);
}

function applyEdits(source, edits) {
  // By position; at one position closing text first, the inner construct's first,
  // then opening text, the outer construct's first (edits are made outside-in).
  for (var i = 0; i < edits.length; i++) edits[i].seq = i;
  edits.sort(function (a, b) {
    if (a.start !== b.start) return a.start - b.start;
    if (!!a.close !== !!b.close) return a.close ? -1 : 1;
    return a.close ? b.seq - a.seq : a.seq - b.seq;
  });
  var out = [];
  var pos = 0;
  for (var j = 0; j < edits.length; j++) {
    var e = edits[j];
    out.push(source.slice(pos, e.start), e.text);
    pos = e.end;
  }
  out.push(source.slice(pos));
  return out.join("");
}

function columnOf(source, pos) {
  return pos - source.lastIndexOf("\n", pos - 1);
}

function lineOf(source, pos) {
  var line = 1;
  for (var i = 0; i < pos && i < source.length; i++) if (source.charCodeAt(i) === 10) line++;
  return line;
}

var PARSE_OPTIONS = { ecmaVersion: "latest", sourceType: "script", allowReturnOutsideFunction: true };

// Returns {code} or {error: {message, line}}.
function meter(source, ast) {
  var edits = [];
  var errors = [];
  visit(ast, source, edits, errors);
  if (errors.length) {
    return { error: { message: errors[0].message, line: lineOf(source, errors[0].pos), column: columnOf(source, errors[0].pos) } };
  }
  return { code: applyEdits(source, edits) };
}

// A parser error as {message, line, column}: line 1-based, column 1-based.
function syntaxError(err) {
  var message = String(err && err.message).split("\n")[0];
  message = message.replace(/^unknown: /, "").replace(/ \(\d+:\d+\)$/, "");
  var loc = err && err.loc;
  return { message: message, line: loc ? loc.line : null, column: loc ? loc.column + 1 : null };
}

function parse(source) {
  try {
    return { ast: acorn.parse(source, PARSE_OPTIONS) };
  } catch (err) {
    return { error: syntaxError(err) };
  }
}

var BABEL_OPTIONS = {
  babelrc: false,
  ast: false,
  compact: false,
  comments: true,
  retainLines: true,
  sourceType: "module",
  parserOpts: { allowReturnOutsideFunction: true },
  plugins: [
    "transform-decorators-legacy",
    "transform-class-properties",
    "transform-object-rest-spread",
    ["transform-es2015-modules-commonjs", { strict: false, noInterop: false }],
  ],
};

// Returns {code} or {error: {message, line}}.
function transform(source) {
  try {
    return { code: Babel.transform(source, BABEL_OPTIONS).code };
  } catch (err) {
    return { error: syntaxError(err) };
  }
}

// The compiler entry point: source -> metered source. A source that does not parse
// as a plain script (module syntax, decorators, ...) goes through Babel 6 first;
// when Babel is not loaded yet the answer is {needsBabel: true}.
function compileUnit(source, coverName) {
  var transformed = false;
  var parsed = parse(source);
  if (parsed.error) {
    if (typeof Babel === "undefined") return JSON.stringify({ needsBabel: true });
    var t = transform(source);
    if (t.error) return JSON.stringify({ error: t.error });
    source = t.code;
    transformed = true;
    parsed = parse(source);
    if (parsed.error) return JSON.stringify({ error: parsed.error });
  }
  var m = meter(source, parsed.ast);
  if (m.error) return JSON.stringify({ error: m.error });
  if (typeof coverName === "string") return JSON.stringify({ code: cover(m.code, coverName), transformed: transformed });
  return JSON.stringify({ code: m.code, transformed: transformed });
}

// ---- line coverage (test harness runs with --coverage only) ----------------------
//
// A hit counter before every statement of a statement list. The counters of every covered
// unit of a context are registered in one table (kept on __cx_units, the prelude's unit
// table, under a key no unit has), and each unit's body runs in a try/finally that hands
// the table's counts to the host ("cortex-test.coverage") and zeroes them, however the unit
// ends: a library's hits made after it loaded are handed over when the script that
// required it ends. An empty name only hands over (a script that is not covered itself).
function cover(code, name) {
  var ast = acorn.parse(code, PARSE_OPTIONS);
  var edits = [];
  var lines = {};
  (function walk(node) {
    var list = node.type === "Program" || node.type === "BlockStatement" || node.type === "StaticBlock" ? node.body : node.type === "SwitchCase" ? node.consequent : null;
    if (list && name) {
      for (var i = 0; i < list.length; i++) {
        var statement = list[i];
        if (statement.type === "FunctionDeclaration") continue;
        if (statement.type === "ExpressionStatement" && statement.directive) continue;
        if (isGenerated(code, statement)) continue;
        var line = lineOf(code, statement.start);
        lines[line] = true;
        edits.push({ start: statement.start, end: statement.start, text: "__cx_k[" + line + "]=(__cx_k[" + line + "]|0)+1;" });
      }
    }
    var kids = children(node);
    for (var j = 0; j < kids.length; j++) walk(kids[j]);
  })(ast);
  var listed = Object.keys(lines).map(Number);
  var head =
    "const __cx_k={};const __cx_kt=__cx_units.__cx_coverage||(__cx_units.__cx_coverage={});" +
    (name ? "__cx_kt[" + JSON.stringify(name) + "]={l:" + JSON.stringify(listed) + ",k:__cx_k};" : "");
  var flush =
    "const __cx_ko={};for(const __cx_km in __cx_kt){const __cx_ke=__cx_kt[__cx_km];__cx_ko[__cx_km]=[__cx_ke.l,Object.assign({},__cx_ke.k)];" +
    "for(const __cx_kq in __cx_ke.k)delete __cx_ke.k[__cx_kq]}" +
    "__cx_host(\"cortex-test.coverage\",__cx_stringify({v:[__cx_ko]}),0)";
  return head + "try{" + applyEdits(code, edits) + "\n}finally{" + flush + "}";
}

// Statements the meter inserted (they start with its reserved names).
function isGenerated(code, statement) {
  return RESERVED.test(code.slice(statement.start, statement.start + 6)) || code.slice(statement.start, statement.start + 9) === "if(!--__c";
}

// ---- static decorators ----------------------------------------------------------
//
// The decorators of class members and classes, with their arguments read as static
// literals (anything else is dropped from objects and is null in arrays, as the
// platform's compiler does). Used at deploy time to register @route, @trigger, @job,
// @object ... entries.

var DECORATOR_SYNTAX = ["syntax-decorators", "syntax-class-properties", "syntax-object-rest-spread"];
var NOT_LITERAL = {};

function literal(node) {
  if (!node) return NOT_LITERAL;
  switch (node.type) {
    case "StringLiteral":
    case "NumericLiteral":
    case "BooleanLiteral":
      return node.value;
    case "NullLiteral":
      return null;
    case "UnaryExpression":
      if (node.operator === "-" && node.argument.type === "NumericLiteral") return -node.argument.value;
      return NOT_LITERAL;
    case "TemplateLiteral":
      return node.expressions.length === 0 ? node.quasis.map(function (q) { return q.value.cooked; }).join("") : NOT_LITERAL;
    case "ArrayExpression":
      return node.elements.map(function (el) {
        var v = literal(el);
        return v === NOT_LITERAL ? null : v;
      });
    case "ObjectExpression":
      var out = {};
      node.properties.forEach(function (p) {
        if (p.type !== "ObjectProperty" || p.computed) return;
        var key = p.key.type === "Identifier" ? p.key.name : p.key.value;
        var v = literal(p.value);
        if (v !== NOT_LITERAL) out[key] = v;
      });
      return out;
  }
  return NOT_LITERAL;
}

function decoratorInfo(d) {
  var expr = d.expression;
  var callee = expr.type === "CallExpression" ? expr.callee : expr;
  var name = callee.type === "Identifier" ? callee.name : callee.type === "MemberExpression" && !callee.computed ? callee.property.name : null;
  var args = expr.type === "CallExpression" ? expr.arguments.map(function (a) { var v = literal(a); return v === NOT_LITERAL ? null : v; }) : [];
  return { decorator: name, args: args, line: d.loc.start.line, column: d.loc.start.column };
}

function extractDecorators(source) {
  var ast;
  try {
    ast = Babel.transform(source, {
      babelrc: false,
      ast: true,
      code: false,
      sourceType: "module",
      parserOpts: { allowReturnOutsideFunction: true },
      plugins: DECORATOR_SYNTAX,
    }).ast;
  } catch (err) {
    return JSON.stringify({ error: syntaxError(err) });
  }
  var found = [];
  function walk(node) {
    if (!node || typeof node.type !== "string") return;
    if ((node.type === "ClassDeclaration" || node.type === "ClassExpression") && node.id) {
      var className = node.id.name;
      (node.decorators || []).forEach(function (d) {
        var info = decoratorInfo(d);
        info.className = className;
        info.target = "class";
        found.push(info);
      });
      node.body.body.forEach(function (member) {
        (member.decorators || []).forEach(function (d) {
          var info = decoratorInfo(d);
          info.className = className;
          info.methodName = member.key && (member.key.name || member.key.value);
          info.static = !!member.static;
          info.target = member.type === "ClassMethod" ? "method" : "property";
          // A property's literal value (@expression / @pipeline register it).
          if (member.type === "ClassProperty") {
            var value = literal(member.value);
            if (value !== NOT_LITERAL) info.value = value;
          }
          found.push(info);
        });
      });
    }
    for (var key in node) {
      if (key === "loc" || key === "start" || key === "end") continue;
      var value = node[key];
      if (Array.isArray(value)) value.forEach(walk);
      else if (value && typeof value.type === "string") walk(value);
    }
  }
  walk(ast.program);
  return JSON.stringify({ decorators: found });
}
