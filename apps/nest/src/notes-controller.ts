import { BadRequestException, Body, Controller, Get, HttpCode, Post } from "@nestjs/common";

/** The host's own JSON API (kept in memory): llmux lives beside it. */
@Controller("api/notes")
export class NotesController {
  private readonly notes: Array<{ id: number; text: string }> = [];

  @Get()
  list() {
    return this.notes;
  }

  @Post()
  @HttpCode(201)
  create(@Body() body: { text?: unknown } | undefined) {
    if (typeof body?.text !== "string" || body.text.length === 0) {
      throw new BadRequestException("text is required");
    }
    const note = { id: this.notes.length + 1, text: body.text };
    this.notes.push(note);
    return note;
  }
}
