"""The example operation, called directly (as your own code would) on a real database."""

import pytest

from jobhunter_compiler import OperationError
from models.todo import Todo, TodoStatus
from operations.complete_todo import CompleteTodoInput, complete_todo


def test_complete_todo_marks_it_done_once(run_with_db):
    async def body():
        first = await Todo(title="Write the README").insert()
        await Todo(title="Ship it", priority=1).insert()

        done = await complete_todo(CompleteTodoInput(todo_id=str(first.id)))
        assert (done.already_done, done.still_open) == (False, 1)
        stored = await Todo.get(first.id)
        assert stored.status is TodoStatus.DONE and stored.done_at is not None

        again = await complete_todo(CompleteTodoInput(todo_id=str(first.id)))
        assert (again.already_done, again.still_open) == (True, 1)

    run_with_db(body)


def test_complete_todo_rejects_an_unknown_id(run_with_db):
    async def body():
        with pytest.raises(OperationError, match="no todo"):
            await complete_todo(CompleteTodoInput(todo_id="0123456789abcdef01234567"))

    run_with_db(body)
