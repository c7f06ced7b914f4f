#include "mime-types.h"

struct mime_type_ext {
	const char *ext;
	const char *type;
};

/* Sorted by extension (ASCII, lowercase) for bsearch; a unit test checks
   the order. */
static const struct mime_type_ext mime_types[] = {
	{ "7z",    "application/x-7z-compressed" },
	{ "aac",   "audio/aac" },
	{ "avi",   "video/x-msvideo" },
	{ "avif",  "image/avif" },
	{ "bmp",   "image/bmp" },
	{ "bz2",   "application/x-bzip2" },
	{ "c",     "text/x-c" },
	{ "cpp",   "text/x-c++" },
	{ "css",   "text/css" },
	{ "csv",   "text/csv" },
	{ "deb",   "application/vnd.debian.binary-package" },
	{ "diff",  "text/x-diff" },
	{ "doc",   "application/msword" },
	{ "docx",  "application/vnd.openxmlformats-officedocument.wordprocessingml.document" },
	{ "eml",   "message/rfc822" },
	{ "eot",   "application/vnd.ms-fontobject" },
	{ "epub",  "application/epub+zip" },
	{ "flac",  "audio/flac" },
	{ "gif",   "image/gif" },
	{ "gz",    "application/gzip" },
	{ "h",     "text/x-c" },
	{ "heic",  "image/heic" },
	{ "htm",   "text/html" },
	{ "html",  "text/html" },
	{ "ico",   "image/vnd.microsoft.icon" },
	{ "ics",   "text/calendar" },
	{ "java",  "text/x-java" },
	{ "jpeg",  "image/jpeg" },
	{ "jpg",   "image/jpeg" },
	{ "js",    "text/javascript" },
	{ "json",  "application/json" },
	{ "key",   "application/vnd.apple.keynote" },
	{ "log",   "text/plain" },
	{ "m4a",   "audio/mp4" },
	{ "md",    "text/markdown" },
	{ "mid",   "audio/midi" },
	{ "midi",  "audio/midi" },
	{ "mjs",   "text/javascript" },
	{ "mkv",   "video/x-matroska" },
	{ "mov",   "video/quicktime" },
	{ "mp3",   "audio/mpeg" },
	{ "mp4",   "video/mp4" },
	{ "mpeg",  "video/mpeg" },
	{ "mpg",   "video/mpeg" },
	{ "odp",   "application/vnd.oasis.opendocument.presentation" },
	{ "ods",   "application/vnd.oasis.opendocument.spreadsheet" },
	{ "odt",   "application/vnd.oasis.opendocument.text" },
	{ "oga",   "audio/ogg" },
	{ "ogg",   "audio/ogg" },
	{ "ogv",   "video/ogg" },
	{ "opus",  "audio/opus" },
	{ "otf",   "font/otf" },
	{ "p7s",   "application/pkcs7-signature" },
	{ "patch", "text/x-diff" },
	{ "pdf",   "application/pdf" },
	{ "pem",   "application/x-pem-file" },
	{ "pgp",   "application/pgp-encrypted" },
	{ "php",   "application/x-httpd-php" },
	{ "png",   "image/png" },
	{ "ppt",   "application/vnd.ms-powerpoint" },
	{ "pptx",  "application/vnd.openxmlformats-officedocument.presentationml.presentation" },
	{ "ps",    "application/postscript" },
	{ "py",    "text/x-python" },
	{ "rar",   "application/vnd.rar" },
	{ "rtf",   "application/rtf" },
	{ "sh",    "application/x-sh" },
	{ "sig",   "application/pgp-signature" },
	{ "svg",   "image/svg+xml" },
	{ "tar",   "application/x-tar" },
	{ "tgz",   "application/gzip" },
	{ "tif",   "image/tiff" },
	{ "tiff",  "image/tiff" },
	{ "toml",  "application/toml" },
	{ "ttf",   "font/ttf" },
	{ "txt",   "text/plain" },
	{ "vcf",   "text/vcard" },
	{ "wasm",  "application/wasm" },
	{ "wav",   "audio/wav" },
	{ "weba",  "audio/webm" },
	{ "webm",  "video/webm" },
	{ "webp",  "image/webp" },
	{ "woff",  "font/woff" },
	{ "woff2", "font/woff2" },
	{ "xhtml", "application/xhtml+xml" },
	{ "xls",   "application/vnd.ms-excel" },
	{ "xlsx",  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" },
	{ "xml",   "application/xml" },
	{ "xz",    "application/x-xz" },
	{ "yaml",  "application/yaml" },
	{ "yml",   "application/yaml" },
	{ "zip",   "application/zip" },
	{ "zst",   "application/zstd" },
};

/* Exposed for the unit test that checks the table order. */
unsigned int mime_types_table_check(void);

/* Returns 0 when the table is sorted and lowercase, else the index + 1 of
   the first entry out of order. */
unsigned int mime_types_table_check(void)
{
	unsigned int i;
	const char *p;

	for (i = 0; i < N_ELEMENTS(mime_types); i++) {
		for (p = mime_types[i].ext; *p != '\0'; p++) {
			if (*p != i_tolower(*p))
				return i + 1;
		}
		if (i > 0 && strcmp(mime_types[i - 1].ext, mime_types[i].ext) >= 0)
			return i + 1;
	}
	return 0;
}

const char *mime_type_from_extension(const char *ext)
{
	unsigned int lo = 0, hi = N_ELEMENTS(mime_types), mid;
	char lower[8];
	size_t len;
	int cmp;

	len = strlen(ext);
	if (len == 0 || len >= sizeof(lower))
		return NULL;   /* no extension in the table is this long */
	memcpy(lower, ext, len + 1);
	i_str_lower(lower);

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		cmp = strcmp(lower, mime_types[mid].ext);
		if (cmp == 0)
			return mime_types[mid].type;
		if (cmp < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

const char *mime_type_from_filename(const char *filename)
{
	const char *base, *dot, *type;

	if (filename == NULL)
		return MIME_TYPE_DEFAULT;
	base = strrchr(filename, '/');
	base = base == NULL ? filename : base + 1;
	dot = strrchr(base, '.');
	/* ".bashrc" is a hidden file's name, not an extension */
	if (dot == NULL || dot == base)
		return MIME_TYPE_DEFAULT;
	type = mime_type_from_extension(dot + 1);
	return type == NULL ? MIME_TYPE_DEFAULT : type;
}
