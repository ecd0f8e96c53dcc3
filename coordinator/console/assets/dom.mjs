// Building the page from data without innerHTML: text is always text (a job name cannot inject markup).

const SVG_NS = 'http://www.w3.org/2000/svg';

/** An HTML element: `h('td', { class: 'number' }, '42')`. Attributes that are undefined or false are left out. */
export function h(tag, attributes = {}, ...children) {
  return fill(document.createElement(tag), attributes, children);
}

/** An SVG element, as h() builds HTML ones. */
export function s(tag, attributes = {}, ...children) {
  return fill(document.createElementNS(SVG_NS, tag), attributes, children);
}

function fill(element, attributes, children) {
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

/** Replaces what `element` holds. */
export function replaceContent(element, ...children) {
  element.replaceChildren();
  fill(element, {}, children);
}

/** A definition list of label → value pairs (the "facts" of a panel). */
export function facts(pairs) {
  return h('dl', { class: 'facts' }, pairs.map(([label, value, field]) => h('div', {}, h('dt', {}, label), h('dd', { 'data-field': field }, value))));
}

export function stateBadge(state) {
  return h('span', { class: `state state-${state}`, 'data-field': 'state' }, state);
}

/** A table with a header row; `columns` are {label, number?}, `rows` arrays of cells (a cell: a value, or {value, field}). */
export function table(columns, rows, emptyText) {
  if (rows.length === 0) return h('p', { class: 'empty' }, emptyText);
  return h(
    'table',
    {},
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', { class: c.number ? 'number' : undefined }, c.label)))),
    h(
      'tbody',
      {},
      rows.map((row) =>
        h(
          'tr',
          {},
          row.map((cell, i) => {
            const { value, field } = typeof cell === 'object' && cell !== null && !(cell instanceof Node) ? cell : { value: cell };
            return h('td', { class: columns[i].number ? 'number' : undefined, 'data-field': field }, value);
          }),
        ),
      ),
    ),
  );
}
