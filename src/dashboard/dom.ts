/** Small DOM helpers: element creation without innerHTML, so server text is never parsed as markup. */

type Attributes = Readonly<Record<string, string | number>>;
type Child = Node | string;

/** Creates an HTML element with attributes and children. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Attributes = {}, children: readonly Child[] = []): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  element.append(...children);
  return element;
}

/** Creates an SVG element with attributes and children. */
export function svg<K extends keyof SVGElementTagNameMap>(tag: K, attributes: Attributes = {}, children: readonly Child[] = []): SVGElementTagNameMap[K] {
  const element = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  element.append(...children);
  return element;
}

/** The element with `id`, failing loudly when index.html lacks it. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`index.html has no element #${id}`);
  return element as T;
}

/** Sets an element's text only when it changed, to avoid needless layout work every second. */
export function setText(element: Element, text: string): void {
  if (element.textContent !== text) element.textContent = text;
}
