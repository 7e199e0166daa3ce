"""What the support team may do with the help articles: agents read them (drafts too), admins
write. Every page handler and route goes through here, so a role is checked in one place and
an editor's name is stamped on every version from the account, never from the request."""

from __future__ import annotations

from collections.abc import Sequence

from chatapp.models import User
from chatapp.services.conversations import NotAllowed
from chatapp.services.knowledge.articles import DEFAULT_CATEGORY, DRAFT, Article, Editor
from chatapp.services.knowledge.files import ImportReport
from chatapp.services.knowledge.service import KnowledgeService
from chatapp.services.knowledge.store import Version

MAX_IMPORT_FILES = 50
MAX_IMPORT_BYTES = 5_000_000  # all files of one import together


class KnowledgeDesk:
    def __init__(self, service: KnowledgeService) -> None:
        self.service = service

    @staticmethod
    def can_edit(user: User | None) -> bool:
        return user is not None and user.is_admin

    @staticmethod
    def _reader(user: User | None) -> None:
        if user is None or not user.on_team:
            raise NotAllowed("Only the support team can see draft and deleted articles.")

    @staticmethod
    def _editor(user: User | None) -> Editor:
        if user is None or not user.is_admin:
            raise NotAllowed("Only admins can change help articles.")
        return Editor(user.id, user.display_name or user.name)

    # Reading ---------------------------------------------------------------------------------

    async def list(self, user: User | None, text: str = "", category: str | None = None,
                   status: str | None = None, deleted: bool = False) -> list[Article]:
        self._reader(user)
        return await self.service.list(text, category, status, deleted)

    async def categories(self, user: User | None) -> list[str]:
        self._reader(user)
        return sorted({a.category for a in await self.service.list(limit=10_000)}, key=str.lower)

    async def get(self, user: User | None, article_id: str) -> Article:
        self._reader(user)
        return await self.service.get(article_id)

    async def versions(self, user: User | None, article_id: str) -> list[Version]:
        self._reader(user)
        return await self.service.versions(article_id)

    async def diff(self, user: User | None, article_id: str, old: int, new: int) -> str:
        self._reader(user)
        return await self.service.diff(article_id, old, new)

    # Writing ---------------------------------------------------------------------------------

    async def create(self, user: User | None, *, title: str, body: str, category: str = DEFAULT_CATEGORY,
                     slug: str = "", status: str = DRAFT) -> Article:
        return await self.service.create(self._editor(user), title, body, category or DEFAULT_CATEGORY,
                                         slug or None, status)

    async def save(self, user: User | None, article_id: str, expected_version: int, *, title: str,
                   body: str, category: str, slug: str, status: str) -> Article:
        return await self.service.save(self._editor(user), article_id, expected_version, title=title,
                                       body=body, category=category, slug=slug, status=status)

    async def delete(self, user: User | None, article_id: str) -> Article:
        return await self.service.delete(self._editor(user), article_id)

    async def restore(self, user: User | None, article_id: str) -> Article:
        return await self.service.restore(self._editor(user), article_id)

    async def restore_version(self, user: User | None, article_id: str, number: int,
                              expected_version: int) -> Article:
        return await self.service.restore_version(self._editor(user), article_id, number,
                                                  expected_version)

    async def import_files(self, user: User | None, uploads: Sequence[tuple[str, bytes]]) -> ImportReport:
        """Each file becomes a draft. Too many files or bytes are refused before any is read."""
        editor = self._editor(user)
        if len(uploads) > MAX_IMPORT_FILES:
            raise ValueError(f"Import at most {MAX_IMPORT_FILES} files at a time.")
        if sum(len(data) for _, data in uploads) > MAX_IMPORT_BYTES:
            raise ValueError(f"Import at most {MAX_IMPORT_BYTES // 1_000_000} MB at a time.")
        return await self.service.import_files(editor, uploads)

    async def export_zip(self, user: User | None) -> bytes:
        self._editor(user)  # drafts included: the whole knowledge base, for admins
        return await self.service.export_zip()
