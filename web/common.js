// What every page shares: element building without innerHTML (job params and results are data, never markup)
// and API calls whose failures show the problem's detail.

/** An element with attributes and children (strings become text nodes). */
export function el(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== undefined && value !== null) element.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child !== undefined && child !== null) element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

/** The parsed JSON answer of a call to this server's API; an Error with the problem's detail otherwise. */
export async function api(path, init) {
  const response = await fetch(path, init);
  const body = await response.json().catch(() => ({}));
  if (!response.ok)
    throw new Error(body.detail ?? body.error?.message ?? `${response.status} ${response.statusText}`);
  return body;
}

export function showError(container, error) {
  container.replaceChildren(el('p', { class: 'error', role: 'alert' }, error.message));
}

export const percent = (fraction) => `${Math.round(100 * (fraction ?? 0))} %`;
