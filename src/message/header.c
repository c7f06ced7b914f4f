#include "header.h"

const struct msg_header_field *msg_header_get(const struct msg_header *hdr, const char *name)
{
	return msg_header_get_nth(hdr, name, 0);
}

const struct msg_header_field *msg_header_get_nth(const struct msg_header *hdr,
						  const char *name, unsigned int index)
{
	unsigned int i;

	for (i = 0; i < hdr->count; i++) {
		if (i_strcasecmp(hdr->fields[i].name, name) == 0) {
			if (index == 0)
				return &hdr->fields[i];
			index--;
		}
	}
	return NULL;
}

unsigned int msg_header_count(const struct msg_header *hdr, const char *name)
{
	unsigned int i, n = 0;

	for (i = 0; i < hdr->count; i++) {
		if (i_strcasecmp(hdr->fields[i].name, name) == 0)
			n++;
	}
	return n;
}
