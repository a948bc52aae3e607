// The two manifest editors: CodeMirror 6 with YAML (which reads JSON too), a dark theme when
// the system asks for one, files opened or dropped onto them, and a way to jump to a line.
import { EditorView, basicSetup } from "codemirror";
import { Annotation, Compartment, EditorState } from "@codemirror/state";
import { yaml } from "@codemirror/lang-yaml";
import { oneDark } from "@codemirror/theme-one-dark";

const dark = window.matchMedia("(prefers-color-scheme: dark)");
const themes = [];

/** Files as one text: each file's documents, separated by `---`. */
export async function readFiles(files) {
  const texts = await Promise.all([...files].map((f) => f.text()));
  return texts.map((t) => t.trimEnd() + "\n").join("---\n");
}

/**
 * An editor in `parent`, labelled `label`; `onChange(text)` after each edit. Dropping files
 * onto it replaces its text with theirs.
 */
export function createEditor(parent, label, onChange) {
  const theme = new Compartment();
  themes.push(theme);
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: "",
      extensions: [
        basicSetup,
        yaml(),
        theme.of(dark.matches ? oneDark : []),
        EditorView.contentAttributes.of({ "aria-label": label }),
        EditorView.updateListener.of((update) => {
          if (update.docChanged && !update.transactions.every((t) => t.annotation(quiet))) onChange(text(view));
        }),
        EditorView.domEventHandlers({
          drop(event) {
            if (!event.dataTransfer?.files?.length) return false;
            event.preventDefault();
            readFiles(event.dataTransfer.files).then((t) => setText(view, t, false));
            return true;
          },
        }),
      ],
    }),
  });
  dark.addEventListener("change", () => view.dispatch({ effects: theme.reconfigure(dark.matches ? oneDark : []) }));
  return view;
}

/** Marks a change the page made itself (loading state), which calls no onChange. */
const quiet = Annotation.define();

export const text = (view) => view.state.doc.toString();

/** Replaces the editor's text; `silent`: without calling its onChange. */
export function setText(view, value, silent = true) {
  view.dispatch({
    changes: { from: 0, to: view.state.doc.length, insert: value },
    annotations: silent ? quiet.of(true) : [],
  });
}

/** Selects line `line` (1-based), scrolls it to the middle and focuses the editor. */
export function goToLine(view, line) {
  const doc = view.state.doc;
  const at = doc.line(Math.min(Math.max(1, line), doc.lines));
  view.dispatch({
    selection: { anchor: at.from, head: at.to },
    effects: EditorView.scrollIntoView(at.from, { y: "center" }),
  });
  view.focus();
}

/**
 * The line (1-based) where `kind` (any kind: null) `name` is written in `value`: the `name:` of the document
 * of that kind (YAML or JSON); null when it is not found. Used to link a workload's name to
 * its manifest; no part of any decision.
 */
export function findObject(value, kind, name) {
  const lines = value.split("\n");
  const quoted = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const nameRe = new RegExp(`^\\s*"?name"?\\s*:\\s*"?${quoted(name)}"?\\s*,?\\s*$`);
  if (kind === null) {
    const i = lines.findIndex((l) => nameRe.test(l));
    return i < 0 ? null : i + 1;
  }
  const kindRe = new RegExp(`^\\s*"?kind"?\\s*:\\s*"?${quoted(kind)}"?\\s*,?\\s*$`);
  for (let i = 0; i < lines.length; i++) {
    if (!kindRe.test(lines[i])) continue;
    for (let j = Math.max(0, i - 40); j < Math.min(lines.length, i + 40); j++) {
      if (nameRe.test(lines[j])) return j + 1;
    }
  }
  return null;
}
