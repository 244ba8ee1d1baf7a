"""The example operation: mark a Todo done and say how many are left."""

from beanie import PydanticObjectId
from pydantic import BaseModel, Field

from jobhunter_compiler import OperationError, operation
from models.todo import Todo, TodoStatus, utcnow


class CompleteTodoInput(BaseModel):
    todo_id: str = Field(description="Id of the Todo to mark done.")


class CompleteTodoOutput(BaseModel):
    todo_id: str
    title: str
    already_done: bool = Field(
        default=False, description="True when it was done before; nothing changed."
    )
    still_open: int = Field(description="Todos not done yet.")


@operation(
    name="complete_todo",
    description="Mark a Todo done; returns how many are still open.",
    category="todos",
    inputs=CompleteTodoInput,
    outputs=CompleteTodoOutput,
    tags=["todos"],
    models_in=["Todo"],
    models_out=["Todo"],
)
async def complete_todo(input: CompleteTodoInput) -> CompleteTodoOutput:
    """An OperationError (an unknown id) becomes a 400 in the API, with its message; any
    other exception a 500 whose traceback stays in the run's TaskRun."""
    if not PydanticObjectId.is_valid(input.todo_id):
        raise OperationError(f"not a todo id: {input.todo_id!r}")
    todo = await Todo.get(PydanticObjectId(input.todo_id))
    if todo is None:
        raise OperationError(f"no todo with id {input.todo_id}")
    already_done = todo.status == TodoStatus.DONE
    if not already_done:
        todo.status = TodoStatus.DONE
        todo.done_at = utcnow()
        await todo.save()
    still_open = await Todo.find(Todo.status != TodoStatus.DONE).count()
    return CompleteTodoOutput(
        todo_id=str(todo.id), title=todo.title, already_done=already_done, still_open=still_open
    )
