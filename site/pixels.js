// Turning whatever the caller has (Blob/File, <img>, <canvas>, ImageData) into
// RGBA ImageData, without re-encoding, refusing images too large for a captcha.
import { t } from "./i18n.js";

export const MAX_PIXELS = 4_000_000;

function checkSize(width, height) {
  if (!width || !height) throw new Error(t("image.noPixels"));
  if (width * height > MAX_PIXELS) {
    throw new Error(t("image.tooLarge", { width, height, max: MAX_PIXELS }));
  }
}

function drawToImageData(drawable, width, height) {
  checkSize(width, height);
  const canvas = new OffscreenCanvas(width, height);
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.drawImage(drawable, 0, 0);
  try {
    return context.getImageData(0, 0, width, height);
  } catch (error) {
    throw new Error(t("image.cors"));
  }
}

// Browsers happily show the top of a truncated PNG/JPEG/GIF; a captcha cut short is
// unreadable, so check that the file ends the way its format says it must.
async function checkComplete(blob) {
  const head = new Uint8Array(await blob.slice(0, 4).arrayBuffer());
  const tail = new Uint8Array(await blob.slice(Math.max(0, blob.size - 32)).arrayBuffer());
  const tailText = String.fromCharCode(...tail);
  const truncated = new Error(t("image.truncated"));
  if (head[0] === 0x89 && head[1] === 0x50 && !tailText.includes("IEND")) throw truncated;
  if (head[0] === 0xff && head[1] === 0xd8 && !tail.some((b, i) => b === 0xff && tail[i + 1] === 0xd9)) throw truncated;
  if (head[0] === 0x47 && head[1] === 0x49 && !tail.includes(0x3b)) throw truncated;
}

// Width and height from the file header (PNG, GIF, BMP, JPEG), so that an image too
// large to decode is refused with its size rather than a generic decoding error.
async function headerSize(blob) {
  const bytes = new Uint8Array(await blob.slice(0, 65536).arrayBuffer());
  const view = new DataView(bytes.buffer);
  if (bytes.length >= 24 && bytes[0] === 0x89 && bytes[1] === 0x50) return [view.getUint32(16), view.getUint32(20)];
  if (bytes.length >= 10 && bytes[0] === 0x47 && bytes[1] === 0x49) return [view.getUint16(6, true), view.getUint16(8, true)];
  if (bytes.length >= 26 && bytes[0] === 0x42 && bytes[1] === 0x4d) return [view.getInt32(18, true), Math.abs(view.getInt32(22, true))];
  if (bytes[0] === 0xff && bytes[1] === 0xd8) {
    for (let i = 2; i + 9 < bytes.length;) {
      if (bytes[i] !== 0xff) { i += 1; continue; }
      const marker = bytes[i + 1];
      if (marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker)) {
        return [view.getUint16(i + 7), view.getUint16(i + 5)];
      }
      i += 2 + view.getUint16(i + 2);
    }
  }
  return null;
}

async function blobToImageData(blob) {
  if (!blob.size) throw new Error(t("image.emptyFile"));
  if (blob.type && !blob.type.startsWith("image/")) {
    throw new Error(t("image.notImage", { name: blob.name || t("image.theFile"), type: blob.type }));
  }
  const size = await headerSize(blob);
  if (size) checkSize(size[0], size[1]);
  await checkComplete(blob);
  const url = URL.createObjectURL(blob);
  try {
    const image = new Image();
    image.src = url;
    // Dimensions are known once the header is parsed; check them before decoding the pixels.
    await new Promise((resolve, reject) => {
      image.onload = resolve;
      image.onerror = () => reject(new Error(t("image.unreadable")));
    });
    checkSize(image.naturalWidth, image.naturalHeight);
    await image.decode().catch(() => { throw new Error(t("image.undecodable")); });
    return drawToImageData(image, image.naturalWidth, image.naturalHeight);
  } finally {
    URL.revokeObjectURL(url);
  }
}

export async function toImageData(source) {
  if (typeof ImageData !== "undefined" && source instanceof ImageData) {
    checkSize(source.width, source.height);
    return source;
  }
  if (source instanceof Blob) return blobToImageData(source);
  if (typeof HTMLImageElement !== "undefined" && source instanceof HTMLImageElement) {
    if (!source.complete) await new Promise((resolve, reject) => { source.onload = resolve; source.onerror = reject; });
    return drawToImageData(source, source.naturalWidth, source.naturalHeight);
  }
  if ((typeof HTMLCanvasElement !== "undefined" && source instanceof HTMLCanvasElement) ||
      (typeof OffscreenCanvas !== "undefined" && source instanceof OffscreenCanvas)) {
    checkSize(source.width, source.height);
    return source.getContext("2d").getImageData(0, 0, source.width, source.height);
  }
  throw new Error(t("image.badSource"));
}
