// SVG drawing of procedurally varied figures (horse, human, dog, bird, car) on cluttered backgrounds.
import type { Rng } from './rng.js';

/** Every class the generator can draw; horse and human are the served ones, the rest help pre-training. */
export const DEMO_CLASSES = ['horse', 'human', 'dog', 'bird', 'car'] as const;

/** A class of figure the generator can draw. */
export type DemoClass = (typeof DEMO_CLASSES)[number];

/** Tells whether a string names a class the generator can draw (used to validate CLI input). */
export function isDemoClass(value: string): value is DemoClass {
  return (DEMO_CLASSES as readonly string[]).includes(value);
}

type Rgb = readonly [number, number, number];

const clamp255 = (v: number): number => Math.max(0, Math.min(255, Math.round(v)));

/** Formats an RGB triple as an SVG hex colour. */
function hex([r, g, b]: Rgb): string {
  return `#${[r, g, b].map((v) => clamp255(v).toString(16).padStart(2, '0')).join('')}`;
}

/** Converts HSL (h in degrees, s and l in 0..1) to RGB, so palettes can be sampled perceptually. */
function hsl(h: number, s: number, l: number): Rgb {
  const k = (n: number): number => (n + h / 30) % 12;
  const a = s * Math.min(l, 1 - l);
  const f = (n: number): number => 255 * (l - a * Math.max(-1, Math.min(k(n) - 3, 9 - k(n), 1)));
  return [f(0), f(8), f(4)];
}

/** Scales a colour towards black (factor < 1) or white (factor > 1). */
function shade([r, g, b]: Rgb, factor: number): Rgb {
  if (factor <= 1) return [r * factor, g * factor, b * factor];
  const t = factor - 1;
  return [r + (255 - r) * t, g + (255 - g) * t, b + (255 - b) * t];
}

/** Jitters a base colour a little so no two figures share exactly the same palette. */
function jitter(rng: Rng, [r, g, b]: Rgb, amount: number): Rgb {
  return [r + rng.range(-amount, amount), g + rng.range(-amount, amount), b + rng.range(-amount, amount)];
}

/** Any colour at all, for backgrounds and clutter. */
function anyColour(rng: Rng): Rgb {
  return hsl(rng.range(0, 360), rng.range(0.1, 0.9), rng.range(0.15, 0.9));
}

const f1 = (v: number): string => v.toFixed(1);

/** Two-segment limb (upper + lower) from a joint; angles in degrees from straight down, positive swings towards +x. */
function limb(x: number, y: number, len1: number, ang1: number, len2: number, ang2: number, width: number, colour: Rgb): { svg: string; end: [number, number] } {
  const r1 = (ang1 * Math.PI) / 180;
  const r2 = ((ang1 + ang2) * Math.PI) / 180;
  const kx = x + len1 * Math.sin(r1);
  const ky = y + len1 * Math.cos(r1);
  const ex = kx + len2 * Math.sin(r2);
  const ey = ky + len2 * Math.cos(r2);
  const c = hex(colour);
  const svg =
    `<line x1="${f1(x)}" y1="${f1(y)}" x2="${f1(kx)}" y2="${f1(ky)}" stroke="${c}" stroke-width="${f1(width)}" stroke-linecap="round"/>` +
    `<line x1="${f1(kx)}" y1="${f1(ky)}" x2="${f1(ex)}" y2="${f1(ey)}" stroke="${c}" stroke-width="${f1(width * 0.8)}" stroke-linecap="round"/>`;
  return { svg, end: [ex, ey] };
}

/** A drawn figure in its own coordinate frame plus the extent of that frame (used to place and scale it). */
interface Figure {
  svg: string;
  /** Bounding box in local units: [minX, minY, maxX, maxY]. */
  box: [number, number, number, number];
}

const HORSE_COATS: Rgb[] = [[120, 72, 40], [150, 85, 45], [90, 55, 35], [40, 32, 28], [200, 200, 195], [140, 140, 140], [210, 170, 110], [235, 230, 220], [100, 40, 25]];
const DOG_COATS: Rgb[] = [[180, 130, 70], [60, 45, 35], [220, 210, 190], [130, 90, 60], [30, 30, 30], [200, 160, 100]];
const SKIN: Rgb[] = [[255, 219, 172], [241, 194, 125], [224, 172, 105], [198, 134, 66], [141, 85, 36], [98, 60, 30]];

/** Horse: side view, horizontal ellipse body, four two-segment legs, neck, long head, ears, mane, tail. */
function drawHorse(rng: Rng): Figure {
  const coat = jitter(rng, rng.pick(HORSE_COATS), 18);
  const dark = shade(coat, rng.range(0.45, 0.75));
  const mane = rng.chance(0.5) ? shade(coat, 0.35) : jitter(rng, rng.pick(HORSE_COATS), 20);
  const bodyRy = rng.range(17, 23);
  const gait = rng.pick(['stand', 'walk', 'trot', 'gallop'] as const);
  const legAngles = (): [number, number] => {
    switch (gait) {
      case 'stand': return [rng.range(-8, 8), rng.range(-5, 8)];
      case 'walk': return [rng.range(-22, 22), rng.range(-5, 25)];
      case 'trot': return [rng.range(-30, 30), rng.range(0, 50)];
      case 'gallop': return [rng.range(-45, 45), rng.range(-10, 70)];
    }
  };
  const hips: [number, number][] = [[36, 8], [28, 8], [-34, 8], [-26, 8]];
  const legLen = rng.range(25, 31);
  const parts: string[] = [];
  // tail, far legs, body, near legs, neck, head
  const tailDx = rng.range(-30, -8);
  const tailDy = rng.range(20, 45);
  parts.push(`<path d="M -44 -8 Q ${f1(-58 + rng.range(-6, 6))} ${f1(rng.range(-6, 8))} ${f1(-48 + tailDx)} ${f1(tailDy)}" stroke="${hex(mane)}" stroke-width="${f1(rng.range(5, 8))}" fill="none" stroke-linecap="round"/>`);
  const legs = hips.map(([hx, hy], i) => {
    const [a1, a2] = legAngles();
    const lower = i < 2 ? -Math.abs(a2) : Math.abs(a2);
    return limb(hx, hy, legLen, a1, legLen, lower, rng.range(8, 10), i % 2 === 1 ? dark : coat);
  });
  for (const i of [1, 3]) {
    const leg = legs[i];
    if (leg) parts.push(leg.svg, `<circle cx="${f1(leg.end[0])}" cy="${f1(leg.end[1])}" r="4" fill="#222"/>`);
  }
  parts.push(`<ellipse cx="0" cy="0" rx="${f1(rng.range(44, 52))}" ry="${f1(bodyRy)}" fill="${hex(coat)}"/>`);
  for (const i of [0, 2]) {
    const leg = legs[i];
    if (leg) parts.push(leg.svg, `<circle cx="${f1(leg.end[0])}" cy="${f1(leg.end[1])}" r="4" fill="#222"/>`);
  }
  const neckAng = (rng.range(15, 50) * Math.PI) / 180;
  const neckLen = rng.range(38, 48);
  const nx = 38 + neckLen * Math.sin(neckAng);
  const ny = -6 - neckLen * Math.cos(neckAng);
  parts.push(`<line x1="36" y1="-4" x2="${f1(nx)}" y2="${f1(ny)}" stroke="${hex(coat)}" stroke-width="${f1(rng.range(16, 20))}" stroke-linecap="round"/>`);
  parts.push(`<line x1="30" y1="-14" x2="${f1(nx - 5)}" y2="${f1(ny - 4)}" stroke="${hex(mane)}" stroke-width="5" stroke-linecap="round"/>`);
  const headAng = rng.range(20, 75);
  const hr = (headAng * Math.PI) / 180;
  const hx = nx + 12 * Math.cos(hr);
  const hy = ny + 12 * Math.sin(hr);
  parts.push(`<polygon points="${f1(nx - 4)},${f1(ny - 6)} ${f1(nx - 1)},${f1(ny - 17)} ${f1(nx + 3)},${f1(ny - 6)}" fill="${hex(dark)}"/>`);
  parts.push(`<ellipse cx="${f1(hx)}" cy="${f1(hy)}" rx="${f1(rng.range(16, 19))}" ry="${f1(rng.range(7, 9))}" transform="rotate(${f1(headAng)} ${f1(hx)} ${f1(hy)})" fill="${hex(coat)}"/>`);
  parts.push(`<circle cx="${f1(nx + 3)}" cy="${f1(ny + 1)}" r="2" fill="#111"/>`);
  if (rng.chance(0.3)) parts.push(`<rect x="-18" y="${f1(-bodyRy - 2)}" width="26" height="8" rx="3" fill="${hex(anyColour(rng))}"/>`);
  return { svg: parts.join(''), box: [-75, -80, 85, 75] };
}

/** Human: upright front view with head, trunk, two arms and two legs in varied poses and clothes. */
function drawHuman(rng: Rng): Figure {
  const skin = jitter(rng, rng.pick(SKIN), 10);
  const shirt = anyColour(rng);
  const pants = rng.chance(0.5) ? jitter(rng, [40, 50, 90], 25) : anyColour(rng);
  const hair = rng.chance(0.7) ? jitter(rng, [40, 30, 20], 20) : jitter(rng, [200, 170, 90], 30);
  const pose = rng.pick(['stand', 'walk', 'run', 'wave', 'jump', 'hips'] as const);
  const parts: string[] = [];
  const legLen = rng.range(38, 44);
  let legA: [number, number, number, number];
  switch (pose) {
    case 'walk': legA = [rng.range(-20, -5), rng.range(0, 10), rng.range(5, 20), rng.range(-10, 0)]; break;
    case 'run': legA = [rng.range(-40, -15), rng.range(10, 50), rng.range(15, 40), rng.range(-60, -10)]; break;
    case 'jump': legA = [rng.range(-35, -15), rng.range(0, 15), rng.range(15, 35), rng.range(-15, 0)]; break;
    default: legA = [rng.range(-10, -2), rng.range(-3, 3), rng.range(2, 10), rng.range(-3, 3)];
  }
  const legW = rng.range(10, 13);
  const l1 = limb(-7, 0, legLen, legA[0], legLen, legA[1], legW, pants);
  const l2 = limb(7, 0, legLen, legA[2], legLen, legA[3], legW, pants);
  for (const l of [l1, l2]) {
    parts.push(l.svg, `<ellipse cx="${f1(l.end[0])}" cy="${f1(l.end[1] + 2)}" rx="7" ry="4" fill="#222"/>`);
  }
  const trunkW = rng.range(28, 36);
  if (rng.chance(0.2)) {
    parts.push(`<polygon points="${f1(-trunkW / 2)},-62 ${f1(trunkW / 2)},-62 ${f1(trunkW / 2 + 10)},18 ${f1(-trunkW / 2 - 10)},18" fill="${hex(shirt)}"/>`);
  } else {
    parts.push(`<rect x="${f1(-trunkW / 2)}" y="-62" width="${f1(trunkW)}" height="68" rx="8" fill="${hex(shirt)}"/>`);
  }
  const armLen = rng.range(27, 32);
  const sleeve = rng.chance(0.5) ? shirt : skin;
  const armAngles = (side: -1 | 1): [number, number] => {
    // side -1 = left arm (outward is -x), angles then mirrored
    let a: [number, number];
    switch (pose) {
      case 'wave': a = side === 1 ? [rng.range(110, 160), rng.range(-20, 30)] : [rng.range(5, 25), rng.range(-5, 10)]; break;
      case 'jump': a = [rng.range(120, 170), rng.range(-15, 15)]; break;
      case 'hips': a = [rng.range(25, 45), rng.range(-110, -80)]; break;
      case 'run': a = [rng.range(-40, 40), rng.range(-70, -30)]; break;
      default: a = [rng.range(5, 30), rng.range(-10, 15)];
    }
    return [a[0] * side, a[1] * side];
  };
  const shoulderX = trunkW / 2 - 2;
  for (const side of [-1, 1] as const) {
    const [a1, a2] = armAngles(side);
    const arm = limb(side * shoulderX, -56, armLen, a1, armLen, a2, rng.range(8, 10), sleeve);
    parts.push(arm.svg, `<circle cx="${f1(arm.end[0])}" cy="${f1(arm.end[1])}" r="5" fill="${hex(skin)}"/>`);
  }
  parts.push(`<rect x="-4" y="-70" width="8" height="10" fill="${hex(skin)}"/>`);
  const headR = rng.range(11, 14);
  parts.push(`<circle cx="0" cy="${f1(-70 - headR)}" r="${f1(headR)}" fill="${hex(skin)}"/>`);
  if (rng.chance(0.8)) {
    parts.push(`<path d="M ${f1(-headR)} ${f1(-70 - headR)} A ${f1(headR)} ${f1(headR)} 0 0 1 ${f1(headR)} ${f1(-70 - headR)} Z" fill="${hex(hair)}"/>`);
  }
  if (rng.chance(0.2)) parts.push(`<rect x="${f1(-headR - 4)}" y="${f1(-72 - 2 * headR)}" width="${f1(2 * headR + 8)}" height="6" fill="${hex(anyColour(rng))}"/>`);
  return { svg: parts.join(''), box: [-65, -110, 65, 90] };
}

/** Dog: small quadruped with short legs, round head, snout, floppy ear and raised tail. */
function drawDog(rng: Rng): Figure {
  const coat = jitter(rng, rng.pick(DOG_COATS), 18);
  const dark = shade(coat, 0.6);
  const parts: string[] = [];
  const tailUp = rng.range(-35, 0);
  parts.push(`<path d="M -32 -6 Q -44 -10 ${f1(-50 + rng.range(-5, 5))} ${f1(-10 + tailUp)}" stroke="${hex(coat)}" stroke-width="6" fill="none" stroke-linecap="round"/>`);
  const legLen = rng.range(12, 16);
  const hips: [number, number][] = [[24, 6], [18, 6], [-26, 6], [-20, 6]];
  const legs = hips.map(([hx, hy], i) => limb(hx, hy, legLen, rng.range(-30, 30), legLen, rng.range(-20, 20), 7, i % 2 === 1 ? dark : coat));
  for (const i of [1, 3]) { const leg = legs[i]; if (leg) parts.push(leg.svg); }
  parts.push(`<ellipse cx="0" cy="0" rx="${f1(rng.range(30, 36))}" ry="${f1(rng.range(12, 16))}" fill="${hex(coat)}"/>`);
  for (const i of [0, 2]) { const leg = legs[i]; if (leg) parts.push(leg.svg); }
  const headY = rng.range(-24, -14);
  parts.push(`<line x1="26" y1="-4" x2="36" y2="${f1(headY)}" stroke="${hex(coat)}" stroke-width="14" stroke-linecap="round"/>`);
  parts.push(`<circle cx="40" cy="${f1(headY)}" r="${f1(rng.range(10, 13))}" fill="${hex(coat)}"/>`);
  parts.push(`<ellipse cx="52" cy="${f1(headY + 4)}" rx="9" ry="6" fill="${hex(coat)}"/><circle cx="60" cy="${f1(headY + 2)}" r="2.5" fill="#111"/>`);
  parts.push(`<ellipse cx="35" cy="${f1(headY + 4)}" rx="5" ry="10" fill="${hex(dark)}"/><circle cx="45" cy="${f1(headY - 3)}" r="2" fill="#111"/>`);
  return { svg: parts.join(''), box: [-60, -50, 70, 45] };
}

/** Bird: oval body, round head, beak, tail and either spread wings (flying) or folded wing with legs (perched). */
function drawBird(rng: Rng): Figure {
  const body = anyColour(rng);
  const wingC = shade(body, rng.range(0.5, 0.8));
  const parts: string[] = [];
  const flying = rng.chance(0.5);
  parts.push(`<polygon points="-20,-2 -42,${f1(rng.range(-14, -4))} -42,${f1(rng.range(4, 12))}" fill="${hex(wingC)}"/>`);
  if (!flying) {
    parts.push(`<line x1="-3" y1="10" x2="-5" y2="28" stroke="#444" stroke-width="2.5"/><line x1="5" y1="10" x2="6" y2="28" stroke="#444" stroke-width="2.5"/>`);
  } else {
    parts.push(`<polygon points="-12,-6 10,-6 ${f1(rng.range(-20, 10))},${f1(rng.range(-50, -30))}" fill="${hex(shade(wingC, 0.8))}"/>`);
  }
  parts.push(`<ellipse cx="0" cy="0" rx="${f1(rng.range(20, 25))}" ry="${f1(rng.range(11, 14))}" fill="${hex(body)}"/>`);
  parts.push(`<circle cx="21" cy="-11" r="${f1(rng.range(8, 10))}" fill="${hex(body)}"/>`);
  parts.push(`<polygon points="28,-14 ${f1(rng.range(38, 44))},-10 28,-7" fill="${hex(jitter(rng, [230, 160, 30], 20))}"/><circle cx="24" cy="-13" r="1.8" fill="#111"/>`);
  if (flying) {
    parts.push(`<polygon points="-10,-4 12,-4 ${f1(rng.range(-15, 15))},${f1(rng.range(-55, -35))}" fill="${hex(wingC)}"/>`);
  } else {
    parts.push(`<ellipse cx="-4" cy="0" rx="14" ry="7" fill="${hex(wingC)}"/>`);
  }
  return { svg: parts.join(''), box: [-45, -58, 45, 32] };
}

/** Car: side view with body, cabin, windows, two wheels and lights. */
function drawCar(rng: Rng): Figure {
  const paint = anyColour(rng);
  const glass = jitter(rng, [170, 200, 220], 20);
  const len = rng.range(52, 62);
  const cabinH = rng.range(18, 26);
  const parts: string[] = [];
  parts.push(`<polygon points="${f1(-len * 0.55)},-10 ${f1(-len * 0.4)},${f1(-10 - cabinH)} ${f1(len * 0.3)},${f1(-10 - cabinH)} ${f1(len * 0.6)},-10" fill="${hex(paint)}"/>`);
  parts.push(`<polygon points="${f1(-len * 0.45)},-12 ${f1(-len * 0.35)},${f1(-7 - cabinH)} ${f1(-2)},${f1(-7 - cabinH)} -2,-12" fill="${hex(glass)}"/>`);
  parts.push(`<polygon points="3,-12 3,${f1(-7 - cabinH)} ${f1(len * 0.27)},${f1(-7 - cabinH)} ${f1(len * 0.5)},-12" fill="${hex(glass)}"/>`);
  parts.push(`<rect x="${f1(-len)}" y="-12" width="${f1(2 * len)}" height="${f1(rng.range(20, 26))}" rx="7" fill="${hex(paint)}"/>`);
  parts.push(`<rect x="${f1(len - 6)}" y="-6" width="6" height="5" fill="#ffe9a0"/><rect x="${f1(-len)}" y="-6" width="5" height="5" fill="#c02020"/>`);
  for (const wx of [-len * 0.62, len * 0.62]) {
    parts.push(`<circle cx="${f1(wx)}" cy="12" r="12" fill="#1a1a1a"/><circle cx="${f1(wx)}" cy="12" r="5" fill="#aaa"/>`);
  }
  return { svg: parts.join(''), box: [-65, -40, 65, 26] };
}

const DRAWERS: Record<DemoClass, (rng: Rng) => Figure> = {
  horse: drawHorse,
  human: drawHuman,
  dog: drawDog,
  bird: drawBird,
  car: drawCar,
};

/** Random shapes (ellipses, rectangles, triangles, sticks) used as background clutter and occluders. */
function clutter(rng: Rng, width: number, height: number, count: number, maxFrac: number): string {
  const m = Math.min(width, height);
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const x = rng.range(-0.1, 1.1) * width;
    const y = rng.range(-0.1, 1.1) * height;
    const s = rng.range(0.03, maxFrac) * m;
    const fill = hex(anyColour(rng));
    const op = rng.range(0.25, 0.95).toFixed(2);
    switch (rng.int(0, 3)) {
      case 0:
        out.push(`<ellipse cx="${f1(x)}" cy="${f1(y)}" rx="${f1(s)}" ry="${f1(s * rng.range(0.3, 1))}" transform="rotate(${f1(rng.range(0, 180))} ${f1(x)} ${f1(y)})" fill="${fill}" fill-opacity="${op}"/>`);
        break;
      case 1:
        out.push(`<rect x="${f1(x)}" y="${f1(y)}" width="${f1(s)}" height="${f1(s * rng.range(0.3, 1.5))}" transform="rotate(${f1(rng.range(0, 90))} ${f1(x)} ${f1(y)})" fill="${fill}" fill-opacity="${op}"/>`);
        break;
      case 2:
        out.push(`<polygon points="${f1(x)},${f1(y)} ${f1(x + rng.range(-s, s))},${f1(y + rng.range(-s, s))} ${f1(x + rng.range(-s, s))},${f1(y + rng.range(-s, s))}" fill="${fill}" fill-opacity="${op}"/>`);
        break;
      default:
        out.push(`<line x1="${f1(x)}" y1="${f1(y)}" x2="${f1(x + rng.range(-s, s) * 2)}" y2="${f1(y + rng.range(-s, s) * 2)}" stroke="${fill}" stroke-width="${f1(rng.range(1, 6))}" stroke-opacity="${op}"/>`);
    }
  }
  return out.join('');
}

/** Builds a complete SVG scene: gradient background, optional ground, clutter, the figure and occluders. */
export function composeScene(label: DemoClass, rng: Rng, width: number, height: number): string {
  const m = Math.min(width, height);
  const parts: string[] = [];
  const ang = rng.range(0, 360);
  const c1 = anyColour(rng);
  const c2 = rng.chance(0.5) ? anyColour(rng) : shade(c1, rng.range(0.5, 1.5));
  const lx = 0.5 + 0.5 * Math.cos((ang * Math.PI) / 180);
  const ly = 0.5 + 0.5 * Math.sin((ang * Math.PI) / 180);
  const defs =
    `<linearGradient id="bg" x1="${(1 - lx).toFixed(2)}" y1="${(1 - ly).toFixed(2)}" x2="${lx.toFixed(2)}" y2="${ly.toFixed(2)}"><stop offset="0" stop-color="${hex(c1)}"/><stop offset="1" stop-color="${hex(c2)}"/></linearGradient>`;
  parts.push(`<rect width="${width}" height="${height}" fill="url(#bg)"/>`);
  if (rng.chance(0.5)) {
    const horizon = rng.range(0.45, 0.85) * height;
    parts.push(`<rect x="0" y="${f1(horizon)}" width="${width}" height="${f1(height - horizon)}" fill="${hex(jitter(rng, rng.pick<Rgb>([[90, 140, 60], [170, 150, 110], [120, 120, 120], [200, 200, 210]]), 30))}"/>`);
  }
  parts.push(clutter(rng, width, height, rng.int(2, 12), 0.35));

  const fig = DRAWERS[label](rng);
  const [x0, y0, x1, y1] = fig.box;
  const fw = x1 - x0;
  const fh = y1 - y0;
  const target = rng.range(0.4, 0.95) * m;
  const scale = Math.min(target / Math.max(fw, fh), (0.98 * width) / fw, (0.98 * height) / fh);
  const sw = fw * scale;
  const sh = fh * scale;
  // the figure box may poke out of the frame by up to 15% of its size
  const cx = rng.range(sw * 0.35, width - sw * 0.35) - ((x0 + x1) / 2) * scale;
  const cy = rng.range(sh * 0.35, height - sh * 0.35) - ((y0 + y1) / 2) * scale;
  const flip = rng.chance(0.5) ? -1 : 1;
  const rot = rng.range(-12, 12);
  const outline = rng.chance(0.3) ? ` stroke="#000" stroke-opacity="0.25"` : '';
  parts.push(`<g transform="translate(${f1(cx + ((x0 + x1) / 2) * scale)} ${f1(cy + ((y0 + y1) / 2) * scale)}) rotate(${f1(rot)}) scale(${(flip * scale).toFixed(4)} ${scale.toFixed(4)}) translate(${f1(-(x0 + x1) / 2)} ${f1(-(y0 + y1) / 2)})"${outline}>${fig.svg}</g>`);

  if (rng.chance(0.25)) parts.push(clutter(rng, width, height, rng.int(1, 2), 0.12));
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}"><defs>${defs}</defs>${parts.join('')}</svg>`;
}
