/**
 * A confusion matrix as an SVG picture for reports and MLflow: rows are true classes, columns the
 * predicted ones, each cell shaded by its share of the row (recall on the diagonal) and labelled
 * with its count. Class names come from labels, so they are escaped.
 */

/** Text safe inside SVG/XML content and attributes. */
function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] as string);
}

/** The picture of `confusion[t][p]` over `classes`, titled `title`. */
export function confusionSvg(classes: readonly string[], confusion: readonly (readonly number[])[], title: string): string {
  const cell = 56;
  const label = Math.min(220, 24 + 7 * Math.max(4, ...classes.map((c) => Math.min(28, c.length))));
  const short = (c: string): string => escapeXml(c.length > 28 ? `${c.slice(0, 27)}…` : c);
  const k = classes.length;
  const width = label + k * cell + 20;
  const height = 60 + label + k * cell;
  const top = 50 + label;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<title>${escapeXml(title)}</title>`,
    '<rect width="100%" height="100%" fill="#ffffff"/>',
    `<text x="10" y="20" font-size="14" font-weight="bold">${escapeXml(title)}</text>`,
    `<text x="${label + (k * cell) / 2}" y="40" text-anchor="middle">predicted</text>`,
    `<text x="12" y="${top + (k * cell) / 2}" transform="rotate(-90 12 ${top + (k * cell) / 2})" text-anchor="middle">true</text>`,
  ];
  classes.forEach((c, j) => {
    const x = label + j * cell + cell / 2;
    parts.push(`<text x="${x}" y="${top - 8}" transform="rotate(-60 ${x} ${top - 8})">${short(c)}</text>`);
  });
  confusion.forEach((row, i) => {
    const total = row.reduce((a, b) => a + b, 0);
    parts.push(`<text x="${label - 8}" y="${top + i * cell + cell / 2 + 4}" text-anchor="end">${short(classes[i] ?? '')}</text>`);
    row.forEach((count, j) => {
      const share = total === 0 ? 0 : count / total;
      const shade = Math.round(255 - share * 200);
      const fill = i === j ? `rgb(${shade},${Math.round(255 - share * 120)},${shade})` : `rgb(255,${shade},${shade})`;
      const x = label + j * cell;
      const y = top + i * cell;
      parts.push(`<rect x="${x}" y="${y}" width="${cell}" height="${cell}" fill="${fill}" stroke="#999"/>`);
      parts.push(`<text x="${x + cell / 2}" y="${y + cell / 2 + 4}" text-anchor="middle"${share > 0.6 ? ' fill="#fff"' : ''}>${count}</text>`);
    });
  });
  parts.push('</svg>', '');
  return parts.join('\n');
}
